// SPDX-License-Identifier: Apache-2.0
// program_runner.hh - starts the program runner of a threaded daemon (lib/os/sandbox.hh) in a
// unit test, as a daemon would: as root, with nobody as the command user and daemon as the
// daemon's. Call it before the test starts a thread; once per process.
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/os/sandbox.hh"

namespace vhostmail::test {

inline constexpr const char* command_user_name = "nobody";
inline constexpr const char* daemon_user_name = "daemon";

inline uid_t uid_of(const char* name) {
    passwd* pw = ::getpwnam(name);
    return pw ? pw->pw_uid : 0;
}

// False (with a warning: the test is to be skipped) when not root or a user is missing.
inline bool runner_as_root() {
    if (::geteuid() != 0 || uid_of(command_user_name) == 0 || uid_of(daemon_user_name) == 0) {
        WARN("needs root and the users nobody and daemon: skipped");
        return false;
    }
    static const bool started = [] {
        os::start_program_runner(os::resolve_command_user(command_user_name, daemon_user_name),
                                 daemon_user_name);
        return true;
    }();
    return started;
}

}  // namespace vhostmail::test
