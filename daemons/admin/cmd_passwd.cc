// SPDX-License-Identifier: Apache-2.0
// cmd_passwd.cc - vhostmail address passwd ADDRESS [--stdin | --no-password].
// The password never comes from argv (other users could read it in ps): it is typed twice at
// the terminal without echo, or read as one line from standard input for scripts. Only its hash
// is stored; every buffer that held it is wiped.
#include <cstdio>
#include <unistd.h>

#include "lib/core/strings.hh"
#include "lib/crypto/password.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/password_input.hh"

namespace vhostmail::admin {

namespace {

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

// An existing hash (a migration): stored as it is when it is one authd can verify.
std::optional<std::string> given_hash(const context& ctx, const std::string& arg) {
    std::string hash = arg;
    if (arg == "-") {
        auto line = read_password_line(STDIN_FILENO);
        hash = line ? std::string(line->view()) : std::string();
    }
    // A check against a probe tells a well-formed hash (mismatch) from an unusable one.
    if (crypto::scheme_of(hash).empty() ||
        crypto::verify_password("probe \x01", hash) == crypto::verify_status::unusable) {
        ctx.fail("not a password hash authd can verify: \"" + printable(hash.substr(0, 40)) +
                 "\" (crypt(3) $6$/$5$/$2y$/$y$/$1$ or DES, {SCHEME} prefixes; no {PLAIN})");
        return std::nullopt;
    }
    return hash;
}

int passwd(context& ctx, const words& a) {
    bool from_stdin = false;
    bool remove = false;
    std::optional<std::string> existing;
    for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--stdin") {
            from_stdin = true;
        } else if (a[i] == "--no-password") {
            remove = true;
        } else if (a[i] == "--hash" && i + 1 < a.size()) {
            existing = a[++i];
        } else {
            std::fputs(
                "usage: vhostmail address passwd ADDRESS [--stdin | --no-password |"
                " --hash HASH|-]\n  (never give a password on the command line)\n",
                stderr);
            return exit_usage;
        }
    }
    std::optional<std::string> hash;
    if (existing) {
        hash = given_hash(ctx, *existing);
        if (!hash) {
            return exit_failed;
        }
    } else if (!remove) {
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
    return {{"address passwd", "ADDRESS [--stdin | --no-password | --hash HASH|-]",
             "set an address's password (asked twice without echo, or one line on stdin)", 1, 3,
             passwd,
             "The password is hashed with SHA512-CRYPT (authd_hash_rounds, default 20000), which\n"
             "Dovecot verifies too.\n"
             "--no-password removes it: the address receives mail but cannot log in or send.\n"
             "--hash stores an existing hash (a migration) after checking that authd can\n"
             "verify it; --hash - reads it from standard input (argv is visible in ps).\n"}};
}

}  // namespace vhostmail::admin
