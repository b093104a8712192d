// SPDX-License-Identifier: Apache-2.0
#include "lib/os/command.hh"

#include <algorithm>
#include <cstring>
#include <errno.h>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/core/unique_fd.hh"
#include "lib/os/sandbox.hh"

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
                                           const tokens& values, std::string_view allowed) {
    auto filtered = [allowed](std::string v) {
        for (char& c : v) {
            if (allowed.find(c) == std::string_view::npos || c == '\0') {
                c = '_';
            }
        }
        if (!v.empty() && v.front() == '-') {
            v.front() = '_';  // never an option of the program
        }
        return v;
    };
    const std::string domain = filtered(values.domain), user = filtered(values.user),
                      sender = filtered(values.sender);
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
                    s += domain;
                    break;
                case 'u':
                    s += user;
                    break;
                case 'f':
                    s += sender;
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

bool has_token(std::string_view arg) {
    for (size_t i = 0; i + 1 < arg.size(); ++i) {
        if (arg[i] == '%') {
            char t = arg[i + 1];
            if (t == 'd' || t == 'u' || t == 'f') {
                return true;
            }
            ++i;  // "%%" and other pairs
        }
    }
    return false;
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// How a program takes code from its command line: the option letters that introduce a script,
// its long options that do, whether the script may be glued to its option ("-e'code'"; for a
// shell "-ce" is two options and the script is the next operand), and whether its first
// operand is a program text (awk, sed) unless a script file is given with -f.
struct interpreter_rule {
    std::string_view script_options;
    std::vector<std::string_view> long_options;
    bool glued = true;
    bool first_operand_is_code = false;
};

// "python3.11" is "python" with a version: the name, then only digits and dots.
bool named(std::string_view name, std::string_view family) {
    return name.starts_with(family) &&
           name.substr(family.size()).find_first_not_of("0123456789.") == std::string_view::npos;
}

std::optional<interpreter_rule> interpreter(std::string_view path) {
    std::string_view name = base_name(path);
    // Shells, and programs that hand their -c argument to one.
    for (std::string_view shell :
         {"sh",     "bash",   "dash",  "ash",  "ksh",  "mksh",    "pdksh", "yash",
          "posh",   "zsh",    "csh",   "tcsh", "fish", "busybox", "rbash", "flock",
          "script", "expect", "tclsh", "wish", "su",   "runuser"}) {
        if (name == shell) {
            return interpreter_rule{"c", {"--command"}, false};
        }
    }
    if (named(name, "perl")) {
        return interpreter_rule{"eE", {}};
    }
    if (named(name, "python") || named(name, "pypy")) {
        return interpreter_rule{"c", {"--command"}};
    }
    if (named(name, "ruby") || named(name, "lua") || named(name, "luajit")) {
        return interpreter_rule{"e", {}};
    }
    if (named(name, "node") || name == "nodejs" || name == "deno") {
        return interpreter_rule{"ep", {"--eval", "--print"}};
    }
    if (named(name, "php")) {
        return interpreter_rule{"rB", {"--run"}};
    }
    for (std::string_view text_program : {"awk", "gawk", "mawk", "nawk", "sed", "gsed"}) {
        if (name == text_program) {
            return interpreter_rule{"e", {"--expression", "--source"}, true, true};
        }
    }
    return std::nullopt;
}

// The code an interpreter started at argv[at] takes from its command line, if any ("" when it
// runs a file). Options are looked for in every later argument: a false alarm (a script's own
// "-c" argument) only refuses a command, a miss would run a value as code.
std::string script_of(const std::vector<std::string>& argv, size_t at,
                      const interpreter_rule& rule) {
    bool script_file = false;
    bool script_next = false;  // an option that takes the script was seen: the next operand
    std::optional<std::string> first_operand;
    for (size_t i = at + 1; i < argv.size(); ++i) {
        std::string_view a = argv[i];
        bool option = a.size() >= 2 && a[0] == '-' && a != "--";
        if (a == "--" && !script_next) {
            if (!first_operand && i + 1 < argv.size()) {
                first_operand = argv[i + 1];
            }
            break;
        }
        if (!option && a != "--") {
            if (script_next) {
                return std::string(a);
            }
            if (!first_operand) {
                first_operand = std::string(a);
            }
            continue;
        }
        if (a == "--") {
            continue;  // "sh -c -- 'script'"
        }
        if (a.starts_with("--")) {
            for (auto opt : rule.long_options) {
                if (a == opt) {
                    script_next = true;
                } else if (a.starts_with(opt) && a.size() > opt.size() && a[opt.size()] == '=') {
                    return std::string(a.substr(opt.size() + 1));
                }
            }
            continue;
        }
        script_file = script_file || (rule.first_operand_is_code && a.find('f', 1) != a.npos);
        auto at_option = a.find_first_of(rule.script_options, 1);
        if (at_option == std::string_view::npos) {
            continue;
        }
        if (rule.glued && at_option + 1 < a.size()) {
            return std::string(a.substr(at_option + 1));  // "-e'code'"
        }
        script_next = true;  // "-c", "-ec", "-ce": the script is the next operand
    }
    return rule.first_operand_is_code && !script_file ? first_operand.value_or("") : "";
}

// env -S "sh -c '...'" (--split-string) runs a command line of its own.
std::optional<std::vector<std::string>> env_split_string(const std::vector<std::string>& argv,
                                                         size_t at) {
    for (size_t i = at + 1; i < argv.size(); ++i) {
        std::string_view a = argv[i];
        if (a == "-S" || a == "--split-string") {
            return i + 1 < argv.size() ? split_command(argv[i + 1]) : std::nullopt;
        }
        if (a.starts_with("-S")) {
            return split_command(a.substr(2));
        }
        if (a.starts_with("--split-string=")) {
            return split_command(a.substr(15));
        }
    }
    return std::nullopt;
}

constexpr auto result_grace = std::chrono::seconds(5);  // the supervisor reports after the limit

}  // namespace

std::string tokens_in_script(const std::vector<std::string>& argv) {
    // Every position counts, so "env X=1 sh -c", "nice sh -c" and "timeout 5 perl -e" do too.
    for (size_t i = 0; i < argv.size(); ++i) {
        if (base_name(argv[i]) == "env") {
            if (auto inner = env_split_string(argv, i)) {
                if (auto found = tokens_in_script(*inner); !found.empty()) {
                    return found;
                }
            }
        }
        if (auto rule = interpreter(argv[i])) {
            std::string script = script_of(argv, i, *rule);
            if (has_token(script)) {
                return script;
            }
        }
    }
    return {};
}

program_result run_program(const std::vector<std::string>& argv, std::string_view input,
                           const program_options& options) {
    program_result r;
    if (argv.empty() || argv.front().empty() || argv.front().front() != '/') {
        r.error = "command must be an absolute path";
        return r;
    }
    program_request req;
    req.argv = argv;
    req.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"};
    req.env.insert(req.env.end(), options.env.begin(), options.env.end());
    req.time_limit_ms = static_cast<uint32_t>(
        std::clamp<int64_t>(options.time_limit.count(), 1, int64_t{86400} * 1000));
    req.as_command_user = options.as_command_user;
    req.may_run_as_self = options.may_run_as_self;
    req.memory_limit = options.limits.memory;
    req.file_size_limit = options.limits.file_size;
    req.process_limit = options.limits.processes;

    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        r.error = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    unique_fd in_read(in_pipe[0]), in_write(in_pipe[1]);
    unique_fd out_read, out_write;
    if (options.max_output > 0) {
        int out_pipe[2];
        if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
            r.error = std::string("pipe: ") + std::strerror(errno);
            return r;
        }
        out_read.reset(out_pipe[0]);
        out_write.reset(out_pipe[1]);
    } else {
        out_write.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    }
    auto started = start_supervised(req, in_read.get(), out_write.get());
    in_read.reset();
    out_write.reset();
    if (started.result_fd < 0) {
        r.error = started.error;
        return r;
    }
    unique_fd result(started.result_fd);
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    // A program may stop reading early (EPIPE): block SIGPIPE in this thread while feeding it,
    // then consume a pending one, so the caller's signal handling is left as it was.
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    auto deadline = std::chrono::steady_clock::now() + options.time_limit + result_grace;
    size_t written = 0;
    std::optional<program_result> reported;
    bool too_big = false;
    if (input.empty()) {
        in_write.reset();
    }
    // The result comes when the whole tree has ended; stdout may still hold data then.
    while ((!reported || out_read) && !too_big) {
        pollfd fds[3];
        nfds_t n = 0;
        if (in_write) {
            fds[n++] = {in_write.get(), POLLOUT, 0};
        }
        if (out_read) {
            fds[n++] = {out_read.get(), POLLIN, 0};
        }
        if (!reported) {
            fds[n++] = {result.get(), POLLIN, 0};
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
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
                        too_big = true;
                        break;
                    }
                    r.output.append(buf, static_cast<size_t>(got));
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    out_read.reset();
                }
            } else if (fds[i].fd == result.get()) {
                char msg[1024];
                ssize_t got = ::recv(result.get(), msg, sizeof msg, 0);
                program_result lost;
                lost.error = "the program runner ended without a result";
                reported = got > 0
                               ? decode_program_result(std::string_view(msg, got)).value_or(lost)
                               : lost;
                in_write.reset();  // the program is gone: nobody reads any more
            }
        }
    }
    in_write.reset();
    out_read.reset();
    result.reset();  // without a result yet: this ends the program's tree
    if (!sigismember(&old_mask, SIGPIPE)) {
        timespec zero{0, 0};
        while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
        }
        ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    }
    if (started.supervisor > 0) {
        while (::waitpid(started.supervisor, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    std::string output = std::move(r.output);
    if (too_big) {
        r = {};
        r.what = program_result::kind::output_too_big;
    } else if (!reported) {
        r = {};
        r.what = program_result::kind::timed_out;
    } else {
        r = std::move(*reported);
    }
    r.output = std::move(output);
    return r;
}

program_result run_sendmail(const std::vector<std::string>& sendmail, std::string_view sender,
                            const std::vector<std::string>& recipients, std::string_view message,
                            const program_options& options) {
    if (sendmail.empty()) {
        program_result r;
        r.error = "no sendmail command is configured";
        return r;
    }
    std::vector<std::string> argv = sendmail;
    argv.insert(argv.end(), {"-i", "-f", sender.empty() ? "<>" : std::string(sender), "--"});
    argv.insert(argv.end(), recipients.begin(), recipients.end());
    return run_program(argv, message, options);
}

std::string outcome_text(const program_result& r, std::string_view program) {
    std::string what(program);
    switch (r.what) {
        case program_result::kind::exited:
            return what + " exit status " + std::to_string(r.status);
        case program_result::kind::signaled:
            return what + " killed by signal " + std::to_string(r.status);
        case program_result::kind::timed_out:
            return what + " exceeded its time limit";
        case program_result::kind::output_too_big:
            return what + " produced too much output";
        case program_result::kind::failed:
            break;
    }
    return what + ": " + r.error;
}

}  // namespace vhostmail::os
