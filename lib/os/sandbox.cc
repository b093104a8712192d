// SPDX-License-Identifier: Apache-2.0
#include "lib/os/sandbox.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "lib/os/privileges.hh"

namespace vhostmail::os {

namespace {

int runner_socket = -1;  // the daemon's end; -1: no runner in this process

// The runner's own state (only meaningful inside the runner and its supervisors).
struct runner_state {
    bool can_switch = false;
    command_user user;
};

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

// Raw capset: the only capability call we need, without linking libcap.
bool set_capabilities(uint32_t permitted_and_effective) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    data[0].permitted = data[0].effective = permitted_and_effective;
    return ::syscall(SYS_capset, &header, data) == 0;
}

constexpr uint32_t cap_bit(int cap) {
    return 1u << cap;
}

// Every descriptor from `first` on is closed at exec, however it was opened.
void cloexec_from(int first) {
    if (::close_range(static_cast<unsigned>(first), ~0u, CLOSE_RANGE_CLOEXEC) == 0) {
        return;
    }
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    int last = nofile.rlim_cur == RLIM_INFINITY ? 65536 : static_cast<int>(nofile.rlim_cur);
    for (int fd = first; fd < last; ++fd) {
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
}

void set_limit(int resource, uint64_t value) {
    if (value > 0) {
        rlimit l{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
        ::setrlimit(resource, &l);
    }
}

// Reports errno `e` to the supervisor and ends the would-be program.
[[noreturn]] void exec_failed(int error_fd, int e) {
    [[maybe_unused]] auto n = ::write(error_fd, &e, sizeof e);
    ::_exit(127);
}

// In the program's process, between fork and exec: only what a fork of a single-threaded
// process may do, and every step that fails stops the exec. Everything that allocates comes
// first: once the address-space limit is set, a sanitizer build's runtime could not map
// memory any more.
[[noreturn]] void exec_program(const program_request& r, int in_fd, int out_fd, int error_fd,
                               const command_user* become) {
    auto fail = [error_fd](int e) { exec_failed(error_fd, e); };
    std::vector<char*> argv, envp;
    for (const auto& a : r.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    for (const auto& e : r.env) {
        envp.push_back(const_cast<char*>(e.c_str()));
    }
    envp.push_back(nullptr);
    if (::setsid() < 0) {
        fail(errno);
    }
    uint64_t cpu_s = 2 * (static_cast<uint64_t>(r.time_limit_ms) / 1000 + 1);
    rlimit cpu{static_cast<rlim_t>(cpu_s), static_cast<rlim_t>(cpu_s + 1)};
    ::setrlimit(RLIMIT_CPU, &cpu);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // a core file would hold the message
    set_limit(RLIMIT_FSIZE, r.file_size_limit);
    if (become != nullptr) {
        set_limit(RLIMIT_NPROC, r.process_limit);
        if (::setgroups(become->groups.size(), become->groups.data()) != 0 ||
            ::setresgid(become->gid, become->gid, become->gid) != 0 ||
            ::setresuid(become->uid, become->uid, become->uid) != 0 || !set_capabilities(0)) {
            fail(errno);
        }
    }
    int null_fd = ::open("/dev/null", O_WRONLY);
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || null_fd < 0 || ::dup2(null_fd, 2) < 0) {
        fail(errno);
    }
    cloexec_from(3);  // error_fd is close-on-exec already: it reports a failed exec only
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
        ::signal(sig, SIG_DFL);
    }
    if (::chdir("/") != 0) {
        fail(errno);
    }
    set_limit(RLIMIT_AS, r.memory_limit);
    ::execve(argv.front(), argv.data(), envp.data());
    exec_failed(error_fd, errno);
}

// The pids whose parent is this (single-threaded) process.
std::vector<pid_t> own_children() {
    std::vector<pid_t> out;
    pid_t self = ::getpid();
    std::ifstream listed("/proc/self/task/" + std::to_string(self) + "/children");
    if (listed) {
        for (pid_t p; listed >> p;) {
            out.push_back(p);
        }
        return out;
    }
    DIR* proc = ::opendir("/proc");  // a kernel without CONFIG_PROC_CHILDREN
    while (proc != nullptr) {
        dirent* e = ::readdir(proc);
        if (e == nullptr) {
            ::closedir(proc);
            break;
        }
        std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
        std::string line;
        if (e->d_name[0] < '1' || e->d_name[0] > '9' || !std::getline(stat, line)) {
            continue;
        }
        auto close_paren = line.rfind(')');
        pid_t ppid = 0;
        if (close_paren != std::string::npos &&
            std::sscanf(line.c_str() + close_paren + 1, " %*c %d", &ppid) == 1 && ppid == self) {
            out.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
        }
    }
    return out;
}

// Ends the program's whole tree. As the child subreaper of the tree, this process inherits
// every process whose parent dies, wherever it moved its session: killing the session, then
// whatever was orphaned to us, round after round, leaves nothing running. Only our own
// unreaped children are signalled, so no pid can have been reused by another process.
void end_tree(pid_t program) {
    ::kill(-program, SIGKILL);
    ::kill(program, SIGKILL);
    for (int round = 0; round < 100000; ++round) {
        pid_t w;
        while ((w = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
        }
        if (w < 0 && errno == ECHILD) {
            return;
        }
        auto kids = own_children();
        for (pid_t k : kids) {
            ::kill(-k, SIGKILL);
            ::kill(k, SIGKILL);
        }
        if (kids.empty()) {
            ::usleep(1000);
        }
    }
}

// Closes every descriptor of this process but `keep`.
void keep_only(std::initializer_list<int> keep) {
    std::vector<int> open_fds;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (dirent* e = ::readdir(d)) {
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
                open_fds.push_back(std::atoi(e->d_name));
            }
        }
        ::closedir(d);  // its own descriptor is in the list, already closed: EBADF is fine
    }
    for (int fd : open_fds) {
        if (std::find(keep.begin(), keep.end(), fd) == keep.end()) {
            ::close(fd);
        }
    }
}

void send_result(int status_fd, const program_result& r) {
    std::string msg = encode_program_result(r);
    [[maybe_unused]] auto n = ::send(status_fd, msg.data(), msg.size(), MSG_NOSIGNAL);
}

// One program, from fork to the end of its tree; then the result on status_fd. Runs in a
// process of its own (forked from the runner, or from a single-threaded program).
[[noreturn]] void supervise(const program_request& r, int in_fd, int out_fd, int status_fd,
                            const runner_state& state) {
    // A copy of whoever forked it: hold nothing else (another copy of the write end of the
    // program's stdin, for one, would keep it from ever seeing end of file).
    keep_only({0, 1, 2, in_fd, out_fd, status_fd});
    ::signal(SIGCHLD, SIG_DFL);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    program_result res;
    const command_user* become = nullptr;
    if (r.as_command_user && state.can_switch) {
        become = &state.user;
    } else if (r.as_command_user && !r.may_run_as_self) {
        res.error = state.user.name.empty()
                        ? "no command user is configured (deliver_command_user), and programs"
                          " named in the database do not run as the daemon's own user"
                        : "cannot switch to the command user " + state.user.name +
                              ": the daemon was not started as root";
        send_result(status_fd, res);
        ::_exit(0);
    }
    int error_pipe[2];
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
        res.error = errno_text("pipe");
        send_result(status_fd, res);
        ::_exit(0);
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(error_pipe[0]);
        ::close(status_fd);
        exec_program(r, in_fd, out_fd, error_pipe[1], become);
    }
    ::close(in_fd);
    ::close(out_fd);
    ::close(error_pipe[1]);
    if (pid < 0) {
        res.error = errno_text("fork");
        send_result(status_fd, res);
        ::_exit(0);
    }
    int exec_errno = 0;
    if (::read(error_pipe[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
        end_tree(pid);
        res.error = "spawn " + r.argv.front() + ": " + std::strerror(exec_errno);
        send_result(status_fd, res);
        ::_exit(0);
    }
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.time_limit_ms);
    bool abandoned = false;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            res.what = program_result::kind::timed_out;
            break;
        }
        pollfd fds[2] = {{status_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
        int wait_ms = pidfd >= 0 ? static_cast<int>(std::min<int64_t>(left.count(), 60000)) : 5;
        int n = ::poll(fds, pidfd >= 0 ? 2 : 1, wait_ms);
        if (n > 0 && fds[0].revents != 0) {
            abandoned = true;  // the caller closed its end: it wants nothing more
            break;
        }
        // Seen, not reaped: while the program is a zombie its pid (and so its process group
        // id) cannot be reused, so end_tree's kills cannot hit a stranger's process.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
            bool exited = info.si_code == CLD_EXITED;
            res.what = exited ? program_result::kind::exited : program_result::kind::signaled;
            res.status = info.si_status;
            break;
        }
    }
    end_tree(pid);
    if (!abandoned) {
        send_result(status_fd, res);
    }
    ::_exit(0);
}

// Receives one request with its three descriptors; false when the daemon is gone.
bool serve_one(int sock, const runner_state& state) {
    std::string buf(max_program_request + 1, '\0');
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n == 0 || (n < 0 && errno != EINTR)) {
        return false;
    }
    std::vector<int> fds;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds.push_back(fd);
            }
        }
    }
    auto request =
        n > 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0
            ? decode_program_request(std::string_view(buf.data(), static_cast<size_t>(n)))
            : std::nullopt;
    if (request && fds.size() == 3 && ::fork() == 0) {
        ::close(sock);
        supervise(*request, fds[0], fds[1], fds[2], state);
    }
    if (!request && fds.size() == 3) {
        program_result bad;
        bad.error = "malformed request to the program runner";
        send_result(fds[2], bad);
    }
    for (int fd : fds) {
        ::close(fd);
    }
    return true;
}

[[noreturn]] void runner_main(int sock, const command_user& user, const std::string& daemon_user,
                              pid_t daemon) {
    // Nothing of the daemon's: only the socket (moved to 3) and stdin/out/err.
    if (::dup2(sock, 3) < 0) {
        ::_exit(71);
    }
    ::close_range(4, ~0u, 0);
    sock = 3;
    runner_state state;
    state.user = user;
    if (::geteuid() == 0) {
        bool keep = !user.name.empty();
        if (keep && ::prctl(PR_SET_KEEPCAPS, 1) != 0) {
            ::_exit(71);
        }
        auto dropped = drop_privileges(daemon_user);
        constexpr uint32_t needed = cap_bit(CAP_SETUID) | cap_bit(CAP_SETGID) | cap_bit(CAP_KILL);
        if (!dropped.ok || (keep && !set_capabilities(needed))) {
            ::_exit(71);
        }
        state.can_switch = keep;
    }
    ::prctl(PR_SET_DUMPABLE, 0);  // the daemon's user may not ptrace the holder of the caps
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != daemon) {
        ::_exit(0);  // the daemon died before the line above
    }
    ::signal(SIGCHLD, SIG_IGN);  // supervisors are reaped by the kernel
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    while (serve_one(sock, state)) {
    }
    ::_exit(0);
}

// How many threads this process runs (1: it may fork).
unsigned thread_count() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.starts_with("Threads:")) {
            return static_cast<unsigned>(std::strtoul(line.c_str() + 8, nullptr, 10));
        }
    }
    return 0;
}

}  // namespace

command_user resolve_command_user(const std::string& name, const std::string& daemon_user) {
    command_user u;
    if (name.empty()) {
        return u;
    }
    auto pw = find_user(name);
    if (!pw) {
        throw std::runtime_error("unknown command user \"" + name + "\"");
    }
    if (pw->uid == 0) {
        throw std::runtime_error("the command user \"" + name + "\" may not be root (uid 0)");
    }
    if (auto daemon = find_user(daemon_user); daemon && daemon->uid == pw->uid) {
        throw std::runtime_error("the command user \"" + name +
                                 "\" must not be the daemon's own user (" + daemon_user + ")");
    }
    u.name = name;
    u.uid = pw->uid;
    u.gid = pw->gid;
    int count = 64;
    u.groups.resize(static_cast<size_t>(count));
    if (::getgrouplist(name.c_str(), pw->gid, u.groups.data(), &count) < 0) {
        u.groups.resize(static_cast<size_t>(count));
        ::getgrouplist(name.c_str(), pw->gid, u.groups.data(), &count);
    }
    u.groups.resize(static_cast<size_t>(std::max(count, 0)));
    return u;
}

void start_program_runner(const command_user& user, const std::string& daemon_user) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        throw std::runtime_error(errno_text("program runner: socketpair"));
    }
    pid_t daemon = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error(errno_text("program runner: fork"));
    }
    if (pid == 0) {
        ::close(pair[0]);
        runner_main(pair[1], user, daemon_user, daemon);
    }
    ::close(pair[1]);
    runner_socket = pair[0];
}

bool program_runner_started() {
    return runner_socket >= 0;
}

supervised start_supervised(const program_request& r, int stdin_fd, int stdout_fd) {
    supervised s;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        s.error = errno_text("socketpair");
        return s;
    }
    if (runner_socket >= 0) {
        std::string msg = encode_program_request(r);
        int fds[3] = {stdin_fd, stdout_fd, pair[1]};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof fds)]{};
        iovec iov{msg.data(), msg.size()};
        msghdr m{};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof fds);
        std::memcpy(CMSG_DATA(c), fds, sizeof fds);
        if (::sendmsg(runner_socket, &m, MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
            s.error = errno_text("the program runner is gone (restart the daemon)");
            ::close(pair[0]);
            ::close(pair[1]);
            return s;
        }
        ::close(pair[1]);
        s.result_fd = pair[0];
        return s;
    }
    if (thread_count() != 1) {
        s.error = "internal error: no program runner in a threaded process";
        ::close(pair[0]);
        ::close(pair[1]);
        return s;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        s.error = errno_text("fork");
        ::close(pair[0]);
        ::close(pair[1]);
        return s;
    }
    if (pid == 0) {
        ::close(pair[0]);
        supervise(r, stdin_fd, stdout_fd, pair[1], runner_state{});
    }
    ::close(pair[1]);
    s.result_fd = pair[0];
    s.supervisor = pid;
    return s;
}

}  // namespace vhostmail::os
