// SPDX-License-Identifier: Apache-2.0
// sign_in.cc - vhostmail --as LOGIN: a domain administrator proves who they are with their
// mail password, and from then on the store refuses whatever lies outside their domains.
// Unknown logins, disabled ones, ones without a password, wrong passwords and right passwords
// of addresses that administer nothing all get the same message and exit status after the same
// work (one hash check), and all count as one failure in the throttling state authd keeps, so
// the tool is no password oracle: a local user learns no more than authd would tell them, and
// no faster. Blocks authd has set for the login hold here too.
#include <thread>
#include <unistd.h>

#include "lib/auth/throttle_store.hh"
#include "lib/config/common_params.hh"
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/db/from_config.hh"
#include "lib/params/authd_params.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/password_input.hh"

namespace vhostmail::admin {

namespace {

std::optional<crypto::secret> admin_password(const context& ctx, const std::string& login,
                                             bool from_stdin) {
    if (from_stdin) {
        auto line = read_password_line(STDIN_FILENO);
        if (!line || line->view().empty()) {
            ctx.fail("no password on standard input for " + printable(login));
        }
        return line;
    }
    unique_fd tty = open_terminal();
    if (!tty) {
        ctx.fail("no terminal to ask for " + printable(login) +
                 "'s password: use --password-stdin");
        return std::nullopt;
    }
    std::string prompt = "Password for " + printable(login) + ": ";
    return prompt_password(tty.get(), prompt.c_str());
}

// Checked when the login cannot sign in, so that costs what a real check costs: the default
// scheme and rounds, over a random password that was thrown away when this hash was made.
constexpr std::string_view dummy_hash =
    "{SHA512-CRYPT}$6$rounds=20000$d4895dfc5a7a0c84$HjKH9MoiygeNpsD7Y/J6TjnhFvkCRBuVODDuQ6c0z01."
    "kwMq7QVKaodsjoQ1huN4QJq8na7rVFqdEJq7qsXYB.";
static_assert(crypto::default_sha512_rounds == 20000, "renew dummy_hash with the new cost");

}  // namespace

int sign_in(context& ctx, const std::string& login, bool password_from_stdin) {
    auto password = admin_password(ctx, login, password_from_stdin);
    if (!password) {
        return exit_failed;
    }
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    auto limits = params::authd_throttle_limits(ctx.cfg());
    unsigned hash_rounds = params::authd_hash_rounds(ctx.cfg());
    auth::throttle_store throttle(shard_id(ctx.cfg(), "authd_shard_id") + "/admin", limits);
    // A local user is the client: every login they try counts against their uid.
    auto who = auth::throttle_keys(login, "uid:" + std::to_string(::getuid()),
                                   ctx.cfg().get_string(config::common::recipient_delimiter));
    auto begun = throttle.begin_attempt(*conn, who);
    if (!begun) {
        return ctx.fail("database error: " + begun.error().message);
    }
    auto decision = auth::decide(begun->before, limits);
    if (decision.delay.count() > 0) {
        std::this_thread::sleep_for(decision.delay);
    }
    vhost::admin_store store(*conn);
    auto record = decision.refuse ? vhost::admin_result<vhost::admin_login>(vhost::admin_login{})
                                  : store.find_login(login);
    if (!record) {
        (void)throttle.end_attempt(*conn, who, *begun, auth::attempt_end::refused);
        return ctx.fail(record.failure());
    }
    // Exactly one full-cost check whatever the account is: no account, no password, a locked
    // or unknown stored value (which verify_password would refuse at once) all check a dummy
    // of the cost authd uses, so the time of the answer tells nothing.
    std::string dummy = hash_rounds == crypto::default_sha512_rounds
                            ? std::string(dummy_hash)
                            : crypto::hash_password("unused", hash_rounds).value_or("");
    bool usable = record->found && !crypto::scheme_of(record->password_hash).empty();
    std::string_view stored = usable ? std::string_view(record->password_hash) : dummy;
    auto verified = crypto::verify_password(password->view(), stored);
    if (verified == crypto::verify_status::unusable && usable) {
        (void)crypto::verify_password(password->view(), dummy);
    }
    bool match = usable && verified == crypto::verify_status::match;
    if (decision.refuse || !usable || !match || record->domains.empty()) {
        (void)throttle.end_attempt(
            *conn, who, *begun,
            decision.refuse ? auth::attempt_end::refused : auth::attempt_end::failed);
        return ctx.fail("authentication failed for " + printable(login));
    }
    if (auto ended = throttle.end_attempt(*conn, who, *begun, auth::attempt_end::succeeded);
        !ended) {
        return ctx.fail("database error: " + ended.error().message);
    }
    auto canonical = parse_address(login);
    ctx.restrict_to({canonical ? canonical->local + "@" + canonical->domain : login,
                     std::move(record->domains)});
    return exit_ok;
}

int require_domain(context& ctx, const std::string& domain) {
    if (!ctx.scope()) {
        return exit_ok;
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.may_manage(domain);
        return r ? exit_ok : ctx.fail(r.failure());
    });
}

}  // namespace vhostmail::admin
