// SPDX-License-Identifier: Apache-2.0
// cmd_passwd.cc - vhostmail address passwd ADDRESS [--stdin | --no-password].
// The password never comes from argv (other users could read it in ps): it is typed twice at
// the terminal without echo, or read as one line from standard input for scripts. Only its hash
// is stored; every buffer that held it is wiped.
#include <unistd.h>

#include <cstdio>

#include "daemons/admin/admin.hh"
#include "daemons/admin/password_input.hh"
#include "lib/crypto/password.hh"

namespace vhostmail::admin {

namespace {

using args_t = std::vector<std::string>;

std::optional<crypto::secret> ask_password(const context& ctx, bool from_stdin) {
    if (from_stdin) {
        auto line = read_password_line(STDIN_FILENO);
        if (!line || line->view().empty()) {
            ctx.fail("no password on standard input (one line, at most 512 bytes)");
            return std::nullopt;
        }
        return line;
    }
    unique_fd tty = open_terminal();
    if (!tty) {
        ctx.fail("no terminal to ask for the password: use --stdin");
        return std::nullopt;
    }
    auto first = prompt_password(tty.get(), "New password: ");
    auto second = prompt_password(tty.get(), "Retype new password: ");
    if (!first || !second || first->view().empty()) {
        ctx.fail("no password given");
        return std::nullopt;
    }
    if (first->view() != second->view()) {
        ctx.fail("the passwords do not match");
        return std::nullopt;
    }
    return first;
}

int passwd(context& ctx, const args_t& a) {
    bool from_stdin = false;
    bool remove = false;
    for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--stdin") {
            from_stdin = true;
        } else if (a[i] == "--no-password") {
            remove = true;
        } else {
            std::fputs("usage: vhostmail address passwd ADDRESS [--stdin | --no-password]\n"
                       "  (never give a password on the command line)\n",
                       stderr);
            return exit_usage;
        }
    }
    std::optional<std::string> hash;
    if (!remove) {
        auto password = ask_password(ctx, from_stdin);
        if (!password) {
            return exit_failed;
        }
        // The cost authd writes with, so rehash-on-login leaves it alone and refusals (timed
        // against a dummy of this cost) cost what a real check costs.
        hash = crypto::hash_password(password->view(),
                                     static_cast<unsigned>(ctx.cfg().get_int("authd_hash_rounds")));
        if (!hash) {
            return ctx.fail("cannot hash this password (empty, too long or containing NUL)");
        }
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.set_password_hash(a[0], hash);
        return r ? print_done(ctx, remove ? "removed the password of " + a[0] +
                                                " (it can receive mail but not log in)"
                                          : "password set for " + a[0])
                 : ctx.fail(r.failure());
    });
}

}  // namespace

std::vector<command> passwd_commands() {
    return {{"address passwd", "ADDRESS [--stdin | --no-password]",
             "set an address's password (asked twice without echo, or one line on stdin)", 1, 2,
             passwd,
             "The password is hashed with SHA512-CRYPT (authd_hash_rounds, default 20000), which\n"
             "Dovecot verifies too.\n"
             "--no-password removes it: the address receives mail but cannot log in or send.\n"}};
}

}  // namespace vhostmail::admin
