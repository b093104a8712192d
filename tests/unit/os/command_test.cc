// SPDX-License-Identifier: Apache-2.0
#include "lib/os/command.hh"

#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace vhostmail::os;
using strings = std::vector<std::string>;

TEST_CASE("command lines split without a shell", "[command]") {
    CHECK(split_command("/usr/bin/foo -a  b") == strings{"/usr/bin/foo", "-a", "b"});
    CHECK(split_command("/x 'a b' \"c \\\" d\" e\\ f") == strings{"/x", "a b", "c \" d", "e f"});
    CHECK(split_command("/x '$(rm -rf /)' ;|&") == strings{"/x", "$(rm -rf /)", ";|&"});
    CHECK(split_command("") == strings{});
    CHECK_FALSE(split_command("/x 'open"));
    CHECK_FALSE(split_command("/x \\"));
}

TEST_CASE("%d %u %f are replaced inside argv elements only", "[command]") {
    tokens t{"example.com", "joe", "bob@x; rm -rf / `id` $(id)"};
    // Values are filtered like Postfix's command_expansion_filter: whatever script or
    // program they land in, they are neither code nor options.
    CHECK(
        substitute_tokens({"/bin/x", "--to=%u@%d", "%f", "100%%", "%z", "%"}, t) ==
        strings{"/bin/x", "--to=joe@example.com", "bob@x__rm_-rf_/__id____id_", "100%", "%z", "%"});
    CHECK(substitute_tokens({"%u"}, {"", "o'brien\"x`y\\z", ""}) == strings{"o_brien_x_y_z"});
    CHECK(substitute_tokens({"%u"}, {"", "-rf", ""}) == strings{"_rf"});
    CHECK(substitute_tokens({"%u"}, {"", "j\xc3\xb6rg", ""}) == strings{"j__rg"});
    CHECK(substitute_tokens({"%u"}, {"", "a$b", ""}, "ab$") == strings{"a$b"});
    // A value with spaces stays one argument; nothing is re-split.
    auto out = substitute_tokens({"%f"}, {"", "", "a b c"});
    CHECK(out == strings{"a_b_c"});
}

TEST_CASE("programs: input, output, exit status, time limit, output bound", "[command]") {
    program_options o;
    o.max_output = 1 << 20;
    auto cat = run_program({"/bin/cat"}, "hello\n", o);
    CHECK(cat.what == program_result::kind::exited);
    CHECK(cat.status == 0);
    CHECK(cat.output == "hello\n");

    std::string big(300000, 'x');
    auto cat_big = run_program({"/bin/cat"}, big, o);
    CHECK(cat_big.output == big);

    auto st = run_program({"/bin/sh", "-c", "exit 75"}, "", o);
    CHECK(st.what == program_result::kind::exited);
    CHECK(st.status == 75);

    auto env = run_program({"/usr/bin/env"}, "", o);
    CHECK(env.output.find("PATH=") != std::string::npos);
    CHECK(env.output.find("HOME=") == std::string::npos);

    program_options quick = o;
    quick.time_limit = std::chrono::milliseconds(300);
    auto slow = run_program({"/bin/sleep", "10"}, "", quick);
    CHECK(slow.what == program_result::kind::timed_out);

    program_options small = o;
    small.max_output = 10;
    auto chatty = run_program({"/bin/cat"}, std::string(1000, 'y'), small);
    CHECK(chatty.what == program_result::kind::output_too_big);

    auto missing = run_program({"/nonexistent/x"}, "", o);
    CHECK(missing.what != program_result::kind::exited);
    auto relative = run_program({"cat"}, "", o);
    CHECK(relative.what == program_result::kind::failed);

    auto ignores_input = run_program({"/bin/true"}, std::string(1 << 20, 'z'), o);
    CHECK(ignores_input.what == program_result::kind::exited);
    CHECK(ignores_input.status == 0);
}

TEST_CASE("sendmail gets -i -f SENDER -- RECIPIENTS, the null sender as <>", "[command]") {
    program_options o;
    o.max_output = 4096;
    // A stand-in that prints its arguments and the message it was given.
    strings sendmail{"/bin/sh", "-c", "printf '%s|' \"$@\"; cat", "sendmail"};
    auto from_null = run_sendmail(sendmail, "", {"a@example.com", "-b@example.com"}, "text\n", o);
    CHECK(from_null.what == program_result::kind::exited);
    CHECK(from_null.output == "-i|-f|<>|--|a@example.com|-b@example.com|text\n");
    auto from_bob = run_sendmail(sendmail, "bob@example.net", {"c@example.com"}, "", o);
    CHECK(from_bob.output == "-i|-f|bob@example.net|--|c@example.com|");

    auto none = run_sendmail({}, "", {"a@example.com"}, "text\n", o);
    CHECK(none.what == program_result::kind::failed);
    CHECK(outcome_text(none, "sendmail") == "sendmail: no sendmail command is configured");
}

TEST_CASE("program outcomes in words", "[command]") {
    program_result r;
    r.what = program_result::kind::exited;
    r.status = 75;
    CHECK(outcome_text(r, "sendmail") == "sendmail exit status 75");
    r.what = program_result::kind::signaled;
    r.status = 9;
    CHECK(outcome_text(r, "filter of example.com") == "filter of example.com killed by signal 9");
    r.what = program_result::kind::timed_out;
    CHECK(outcome_text(r, "x") == "x exceeded its time limit");
    r.what = program_result::kind::output_too_big;
    CHECK(outcome_text(r, "x") == "x produced too much output");
    r.what = program_result::kind::failed;
    r.error = "spawn /x: No such file or directory";
    CHECK(outcome_text(r, "x") == "x: spawn /x: No such file or directory");
}

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

bool process_exists(const std::string& pid_text) {
    auto pid = std::atoi(pid_text.c_str());
    return pid > 0 && ::kill(pid, 0) == 0;
}

std::string temp_name(const char* what) {
    return "/tmp/vhm-os-test-" + std::to_string(::getpid()) + "-" + what;
}

}  // namespace

TEST_CASE("sandbox: a program inherits no descriptor but stdin, stdout and stderr", "[sandbox]") {
    // Opened without O_CLOEXEC, like the MariaDB client library's sockets.
    int leaked = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaked > 2);
    program_options o;
    o.max_output = 4096;
    auto r = run_program({"/bin/sh", "-c", "ls /proc/$$/fd"}, "", o);
    ::close(leaked);
    CHECK(r.what == program_result::kind::exited);
    CHECK(r.output == "0\n1\n2\n");
}

TEST_CASE("sandbox: a session and resource limits of its own", "[sandbox]") {
    program_options o;
    o.max_output = 65536;
    o.limits.file_size = 12345678;
    o.limits.memory = 987654321;
    auto stat = run_program({"/bin/cat", "/proc/self/stat"}, "", o);
    std::istringstream fields(stat.output);
    std::string pid, comm, state, ppid, pgrp, session;
    fields >> pid >> comm >> state >> ppid >> pgrp >> session;
    CHECK(session == pid);  // it leads a session of its own
    CHECK(pgrp == pid);
    auto limits = run_program({"/bin/cat", "/proc/self/limits"}, "", o).output;
    CHECK(limits.find("Max file size             12345678             12345678") !=
          std::string::npos);
    CHECK(limits.find("Max address space         987654321            987654321") !=
          std::string::npos);
    CHECK(limits.find("Max core file size        0                    0") != std::string::npos);
}

TEST_CASE("sandbox: a program that forks and calls setsid is killed at the time limit",
          "[sandbox]") {
    std::string pid_file = temp_name("escapee");
    ::unlink(pid_file.c_str());
    program_options o;
    o.time_limit = std::chrono::milliseconds(1500);
    std::string escape = "setsid /bin/sh -c 'echo $$ > " + pid_file + "; exec sleep 60' & sleep 60";
    auto r = run_program({"/bin/sh", "-c", escape}, "", o);
    CHECK(r.what == program_result::kind::timed_out);
    std::string pid = read_file(pid_file);
    REQUIRE_FALSE(pid.empty());
    CHECK_FALSE(process_exists(pid));  // killed and reaped before run_program returned
    ::unlink(pid_file.c_str());
}

TEST_CASE("sandbox: what a program leaves running ends with it", "[sandbox]") {
    std::string pid_file = temp_name("daemonized");
    ::unlink(pid_file.c_str());
    program_options o;
    // Double fork and a new session: the classic way to outlive the parent.
    std::string daemonize =
        "( setsid /bin/sh -c 'echo $$ > " + pid_file + "; exec sleep 60' & ) ; sleep 0.5; exit 0";
    auto r = run_program({"/bin/sh", "-c", daemonize}, "", o);
    CHECK(r.what == program_result::kind::exited);
    CHECK(r.status == 0);
    std::string pid = read_file(pid_file);
    REQUIRE_FALSE(pid.empty());
    CHECK_FALSE(process_exists(pid));
    ::unlink(pid_file.c_str());
}

TEST_CASE("sandbox: a program the database names needs a command user", "[sandbox]") {
    program_options o;
    o.as_command_user = true;
    auto refused = run_program({"/bin/true"}, "", o);
    CHECK(refused.what == program_result::kind::failed);
    CHECK(refused.error.find("no command user is configured") != std::string::npos);
    o.may_run_as_self = true;
    CHECK(run_program({"/bin/true"}, "", o).what == program_result::kind::exited);
}

TEST_CASE("%d %u %f inside a shell's or interpreter's script are found", "[command]") {
    CHECK(tokens_in_script({"/bin/sh", "-c", "echo %u"}) == "echo %u");
    CHECK(tokens_in_script({"/bin/bash", "-ec", "x %f"}) == "x %f");
    CHECK(tokens_in_script({"/usr/bin/env", "A=1", "sh", "-c", "x %d"}) == "x %d");
    CHECK(tokens_in_script({"/usr/bin/nice", "/bin/dash", "-x", "-c", "x %u"}) == "x %u");
    CHECK(tokens_in_script({"/usr/bin/perl", "-ne", "print '%u'"}) == "print '%u'");
    CHECK(tokens_in_script({"/usr/bin/perl", "-e'%u'"}) == "'%u'");
    CHECK(tokens_in_script({"/usr/bin/python3", "-W", "ignore", "-c", "%f"}) == "%f");
    CHECK(tokens_in_script({"/usr/bin/awk", "{print \"%u\"}"}) == "{print \"%u\"}");
    CHECK(tokens_in_script({"/bin/sed", "-e", "s/x/%u/"}) == "s/x/%u/");
    // The forms a first version missed (review of 2026-12-06).
    CHECK(tokens_in_script({"/bin/sh", "-c", "--", "exec prog %u"}) == "exec prog %u");
    CHECK(tokens_in_script({"/bin/sh", "-c", "-e", "x %u"}) == "x %u");
    CHECK(tokens_in_script({"/bin/sh", "-ce", "x %u"}) == "x %u");
    CHECK(tokens_in_script({"/usr/bin/node", "--eval", "x('%u')"}) == "x('%u')");
    CHECK(tokens_in_script({"/usr/bin/node", "--eval=x('%u')"}) == "x('%u')");
    CHECK(tokens_in_script({"/usr/bin/env", "-S", "sh -c 'x %u'"}) == "x %u");
    CHECK(tokens_in_script({"/bin/ash", "-c", "x %f"}) == "x %f");
    CHECK(tokens_in_script({"/usr/bin/flock", "/tmp/l", "-c", "x %u"}) == "x %u");
    CHECK(tokens_in_script({"/usr/bin/script", "-q", "-c", "x %u", "/dev/null"}) == "x %u");
    // Values as arguments, scripts from files, programs that take data: nothing to find.
    CHECK(tokens_in_script({"/bin/sh", "-c", "exec prog \"$1\"", "sh", "%u"}).empty());
    CHECK(tokens_in_script({"/usr/bin/awk", "-f", "/etc/x.awk", "%u"}).empty());
    CHECK(tokens_in_script({"/usr/bin/perl", "/usr/local/bin/handler.pl", "%u"}).empty());
    CHECK(tokens_in_script({"/usr/bin/procmail", "-d", "%u"}).empty());
    CHECK(tokens_in_script({"/bin/sh", "-c", "echo 100%%"}).empty());
}
