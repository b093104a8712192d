// SPDX-License-Identifier: Apache-2.0
// The program runner of a threaded daemon (lib/os/sandbox.hh), started as root: programs the
// database names run as the command user, the others as the daemon's user, from many threads.
// Each test case is its own process (catch_discover_tests), so each starts its own runner.
#include <fstream>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/os/command.hh"
#include "lib/os/sandbox.hh"

#include "tests/support/program_runner.hh"

using namespace vhostmail::os;
using vhostmail::test::command_user_name;
using vhostmail::test::daemon_user_name;
using vhostmail::test::runner_as_root;
using vhostmail::test::uid_of;

namespace {

program_options capture() {
    program_options o;
    o.max_output = 65536;
    return o;
}

}  // namespace

TEST_CASE("runner: database programs run as the command user, others as the daemon's", "[runner]") {
    if (!runner_as_root()) {
        return;
    }
    auto o = capture();
    o.as_command_user = true;
    auto as_command = run_program({"/usr/bin/id", "-u"}, "", o);
    CHECK(as_command.what == program_result::kind::exited);
    CHECK(as_command.output == std::to_string(uid_of(command_user_name)) + "\n");
    auto as_daemon = run_program({"/usr/bin/id", "-u"}, "", capture());
    CHECK(as_daemon.output == std::to_string(uid_of(daemon_user_name)) + "\n");
    // No capability survives into the program.
    auto caps = run_program({"/bin/grep", "^Cap[PEA]", "/proc/self/status"}, "", o);
    CHECK(caps.output ==
          "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n");
}

TEST_CASE("runner: the command user's escaped processes are killed at the time limit", "[runner]") {
    if (!runner_as_root()) {
        return;
    }
    std::string pid_file = "/tmp/vhm-runner-test-" + std::to_string(::getpid());
    ::unlink(pid_file.c_str());
    auto o = capture();
    o.as_command_user = true;
    o.time_limit = std::chrono::milliseconds(1500);
    // The command user cannot write to /tmp files of root's: report the pid on stdout.
    auto r = run_program({"/bin/sh", "-c", "setsid /bin/sh -c 'echo $$; exec sleep 60' & sleep 60"},
                         "", o);
    CHECK(r.what == program_result::kind::timed_out);
    int pid = std::atoi(r.output.c_str());
    REQUIRE(pid > 0);
    CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("runner: many threads at once, each gets its own output", "[runner]") {
    if (!runner_as_root()) {
        return;
    }
    std::vector<std::string> got(8);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([i, &got] {
            auto o = capture();
            o.as_command_user = true;
            got[i] = run_program({"/bin/cat"}, "thread " + std::to_string(i) + "\n", o).output;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i] == "thread " + std::to_string(i) + "\n");
    }
}

TEST_CASE("runner: refuses a command user that is root or the daemon's own", "[runner]") {
    CHECK_THROWS_WITH(resolve_command_user("root", daemon_user_name),
                      Catch::Contains("may not be root"));
    CHECK_THROWS_WITH(resolve_command_user(daemon_user_name, daemon_user_name),
                      Catch::Contains("must not be the daemon's own user"));
    CHECK_THROWS_WITH(resolve_command_user("no-such-user-vhm", daemon_user_name),
                      Catch::Contains("unknown command user"));
    CHECK(resolve_command_user("", daemon_user_name).name.empty());
}
