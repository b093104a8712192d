// SPDX-License-Identifier: Apache-2.0
#include "lib/os/command.hh"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "lib/core/unique_fd.hh"

namespace vhostmail::os {

std::optional<std::vector<std::string>> split_command(std::string_view line) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) {
                out.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
            continue;
        }
        in_word = true;
        if (c == '\\') {
            if (++i == line.size()) {
                return std::nullopt;
            }
            word += line[i];
        } else if (c == '\'') {
            size_t end = line.find(c, i + 1);
            if (end == std::string_view::npos) {
                return std::nullopt;
            }
            word += line.substr(i + 1, end - i - 1);
            i = end;
        } else if (c == '"') {
            size_t j = i + 1;
            for (; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\' && j + 1 < line.size()) {
                    ++j;
                }
                word += line[j];
            }
            if (j >= line.size()) {
                return std::nullopt;
            }
            i = j;
        } else {
            word += c;
        }
    }
    if (in_word) {
        out.push_back(std::move(word));
    }
    return out;
}

std::vector<std::string> substitute_tokens(const std::vector<std::string>& argv,
                                           const tokens& values) {
    std::vector<std::string> out;
    out.reserve(argv.size());
    for (const auto& arg : argv) {
        std::string s;
        for (size_t i = 0; i < arg.size(); ++i) {
            if (arg[i] != '%' || i + 1 == arg.size()) {
                s += arg[i];
                continue;
            }
            char t = arg[++i];
            switch (t) {
                case 'd':
                    s += values.domain;
                    break;
                case 'u':
                    s += values.user;
                    break;
                case 'f':
                    s += values.sender;
                    break;
                case '%':
                    s += '%';
                    break;
                default:
                    s += '%';
                    s += t;
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

namespace {

struct spawn_actions {
    posix_spawn_file_actions_t a;
    spawn_actions() { posix_spawn_file_actions_init(&a); }
    ~spawn_actions() { posix_spawn_file_actions_destroy(&a); }
};

struct spawn_attr {
    posix_spawnattr_t a;
    spawn_attr() { posix_spawnattr_init(&a); }
    ~spawn_attr() { posix_spawnattr_destroy(&a); }
};

}  // namespace

program_result run_program(const std::vector<std::string>& argv, std::string_view input,
                           const program_options& options) {
    program_result r;
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        r.error = "command must be an absolute path";
        return r;
    }
    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        r.error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    unique_fd in_read(in_pipe[0]), in_write(in_pipe[1]);
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        r.error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    unique_fd out_read(out_pipe[0]), out_write(out_pipe[1]);

    spawn_actions fa;
    posix_spawn_file_actions_adddup2(&fa.a, in_read.get(), 0);
    if (options.max_output > 0) {
        posix_spawn_file_actions_adddup2(&fa.a, out_write.get(), 1);
    } else {
        posix_spawn_file_actions_addopen(&fa.a, 1, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa.a, 2, "/dev/null", O_WRONLY, 0);
    spawn_attr attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr.a, &none);
    posix_spawnattr_setsigdefault(&attr.a, &all);
    posix_spawnattr_setpgroup(&attr.a, 0);
    posix_spawnattr_setflags(&attr.a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETPGROUP);

    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"};
    env.insert(env.end(), options.env.begin(), options.env.end());
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) {
        cargv.push_back(const_cast<char*>(a.c_str()));
    }
    cargv.push_back(nullptr);
    for (const auto& e : env) {
        cenv.push_back(const_cast<char*>(e.c_str()));
    }
    cenv.push_back(nullptr);
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, argv.front().c_str(), &fa.a, &attr.a, cargv.data(), cenv.data());
    in_read.reset();
    out_write.reset();
    if (rc != 0) {
        r.error = "spawn " + argv.front() + ": " + std::strerror(rc);
        return r;
    }
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    // A program may stop reading early (EPIPE): block SIGPIPE in this thread while feeding it,
    // then consume a pending one, so the caller's signal handling is left as it was.
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    auto deadline = std::chrono::steady_clock::now() + options.time_limit;
    size_t written = 0;
    bool killed_for_output = false;
    bool timed_out = false;
    while (in_write || out_read) {
        pollfd fds[2];
        nfds_t n = 0;
        if (in_write) {
            fds[n++] = {in_write.get(), POLLOUT, 0};
        }
        if (out_read) {
            fds[n++] = {out_read.get(), POLLIN, 0};
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        int p = ::poll(fds, n, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
        if (p < 0 && errno != EINTR) {
            break;
        }
        for (nfds_t i = 0; p > 0 && i < n; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (in_write && fds[i].fd == in_write.get()) {
                ssize_t w = ::write(in_write.get(), input.data() + written, input.size() - written);
                if (w > 0) {
                    written += static_cast<size_t>(w);
                }
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
                    in_write.reset();  // EPIPE: the program stopped reading; that is its right
                }
            } else if (out_read && fds[i].fd == out_read.get()) {
                char buf[65536];
                ssize_t got = ::read(out_read.get(), buf, sizeof buf);
                if (got > 0) {
                    if (r.output.size() + static_cast<size_t>(got) > options.max_output) {
                        killed_for_output = true;
                        in_write.reset();
                        out_read.reset();
                        break;
                    }
                    r.output.append(buf, static_cast<size_t>(got));
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    out_read.reset();
                }
            }
        }
        if (killed_for_output) {
            break;
        }
        if (input.empty() && in_write) {
            in_write.reset();
        }
    }
    in_write.reset();
    out_read.reset();
    if (!sigismember(&old_mask, SIGPIPE)) {
        timespec zero{0, 0};
        while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
        }
        ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    }
    if (timed_out || killed_for_output) {
        ::kill(-pid, SIGKILL);
    }
    int status = 0;
    while (true) {
        if (!timed_out && !killed_for_output) {
            // Output closed; the program may still run: wait for it within the deadline.
            pid_t w = ::waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                timed_out = true;
                ::kill(-pid, SIGKILL);
                continue;
            }
            ::usleep(2000);
            continue;
        }
        if (::waitpid(pid, &status, 0) == pid || errno != EINTR) {
            break;
        }
    }
    if (timed_out) {
        r.what = program_result::kind::timed_out;
    } else if (killed_for_output) {
        r.what = program_result::kind::output_too_big;
    } else if (WIFEXITED(status)) {
        r.what = program_result::kind::exited;
        r.status = WEXITSTATUS(status);
    } else {
        r.what = program_result::kind::signaled;
        r.status = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return r;
}

}  // namespace vhostmail::os
