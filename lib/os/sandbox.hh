// SPDX-License-Identifier: Apache-2.0
// sandbox.hh - how every external program runs (run_program in command.hh is the front door):
//
//   - descriptors: the program gets stdin, stdout and /dev/null as stderr, and nothing else
//     (every other descriptor is closed before exec, whatever flags it was opened with: the
//     MariaDB client library's sockets carry no FD_CLOEXEC);
//   - a session of its own, resource limits (CPU time from the time limit, address space, file
//     size, and processes for the command user), default signal dispositions, an empty mask;
//   - its whole process tree ends when it ends or at the time limit: a supervisor that is the
//     child subreaper of the tree kills the session and then every process that was orphaned
//     into it, so a program that forks and calls setsid() cannot leave anything running;
//   - identity: programs the database names (domain filters, fallback commands) run as the
//     dedicated command user, never as the daemon's own user unless the configuration says
//     so; programs the configuration names (sendmail, postconf) run as the daemon's user.
//
// A threaded daemon cannot fork safely, so it starts a program runner first
// (start_program_runner): a small helper process forked while the daemon is still single-
// threaded and, when it was started as root, before it drops privileges. The runner drops to
// the daemon's user too but keeps CAP_SETUID, CAP_SETGID (to become the command user) and
// CAP_KILL (to end the tree), is not dumpable (no ptrace from the daemon's user), dies with the
// daemon, reads nothing but requests on its socket (program_wire.hh) and forks one supervisor
// per request. Single-threaded programs (vhostmail-deliver, the admin tool) need no runner:
// run_program forks the supervisor itself, and cannot switch users (they are not root).
// Thread safety: start_supervised may be called from many threads once the runner is started.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

#include "lib/os/program_wire.hh"

namespace vhostmail::os {

struct command_user {
    std::string name;  // "" when none is configured
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
};

// Looks up `name` ("" -> none configured). Throws std::runtime_error for an unknown user, uid 0,
// or the same uid as `daemon_user` (that would not separate anything).
command_user resolve_command_user(const std::string& name, const std::string& daemon_user);

// Forks the program runner. Call while single-threaded, after the listeners are open and before
// drop_privileges(daemon_user). As root with a command user, the runner can switch to it;
// otherwise programs it runs keep the daemon's user. Throws std::runtime_error on failure.
void start_program_runner(const command_user& user, const std::string& daemon_user);

// True once start_program_runner succeeded in this process.
bool program_runner_started();

struct supervised {
    int result_fd = -1;     // the result message arrives here; closing it early ends the tree
    pid_t supervisor = -1;  // forked by this process (no runner): wait for it after the result
    std::string error;      // result_fd == -1: why nothing was started
};

// Starts `r` with `stdin_fd`/`stdout_fd` as its stdin and stdout (the caller closes its own
// copies afterwards). The result (decode_program_result) arrives on result_fd when the program
// and everything it started have ended.
supervised start_supervised(const program_request& r, int stdin_fd, int stdout_fd);

}  // namespace vhostmail::os
