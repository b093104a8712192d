// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/authd_service.hh"

#include <map>
#include <thread>
#include <unistd.h>

#include "lib/core/encoding.hh"
#include "lib/core/strings.hh"
#include "lib/crypto/password.hh"
#include "lib/daemon/metrics_endpoint.hh"
#include "lib/db/from_config.hh"
#include "lib/log/log.hh"
#include "lib/net/request_loop.hh"
#include "lib/proto/dovecot_auth.hh"
#include "lib/proto/saslauthd.hh"

#include "daemons/authd/settings.hh"

namespace vhostmail::authd {

namespace {

constexpr size_t max_pending = 16;  // Postfix has one request in flight; abandoned ones expire
constexpr std::string_view generic_reason = "Authentication failed";

unsigned hash_concurrency(const config::config& cfg) {
    auto n = cfg.get_int("authd_hash_concurrency");
    if (n > 0) {
        return static_cast<unsigned>(n);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

authd_service::authd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics)
    : pool_(db_settings_from(*cfg)),
      store_(pool_, shard_id(*cfg, "authd_shard_id"), auth_settings_from(*cfg).throttle),
      auth_(store_, auth_settings_from(*cfg), hash_concurrency(*cfg)),
      pid_(static_cast<uint64_t>(getpid())),
      meter_(metrics, "mechanism"),
      delays_(metrics
                  .counters("vhostmail_auth_delays_total",
                            "Authentications the throttle held back (authd_throttle_*).")
                  .with()) {
    static constexpr const char* result_names[] = {"ok", "failed", "throttled", "tempfail"};
    for (size_t m = 0; m < std::size(mechanisms); ++m) {
        for (size_t r = 0; r < result_count; ++r) {
            series_[m][r] = meter_.series(mechanisms[m], result_names[r], r == result_tempfail);
        }
    }
    expose_pool(metrics, pool_);
    metrics.computed("vhostmail_database_up",
                     "1 unless the last database request failed (and none has worked since).",
                     [this] { return db_state_.failing() ? 0.0 : 1.0; });
    reload(std::move(cfg));
}

void authd_service::count(std::string_view mech, result r,
                          std::chrono::steady_clock::time_point started) {
    size_t m = 0;
    while (m + 1 < std::size(mechanisms) && mechanisms[m] != mech) {
        ++m;
    }
    series_[m][r]->record(std::chrono::steady_clock::now() - started);
}

void authd_service::reload(std::shared_ptr<const config::config> cfg) {
    settings s;
    s.allow_cleartext = cfg->get_bool("authd_allow_cleartext");
    s.idle_timeout = cfg->get_duration("authd_idle_timeout");
    s.request_timeout = cfg->get_duration("authd_request_timeout");
    auto a = auth_settings_from(*cfg);
    store_.set_limits(a.throttle);
    auth_.set_settings(std::move(a));
    settings_.set(s);
}

std::optional<auth_answer> authd_service::authenticate(const auth_request& r,
                                                       std::string_view mech) {
    auto started = std::chrono::steady_clock::now();
    auth_answer a = auth_.authenticate(r);
    if (a.delayed) {
        delays_.add();
    }
    count(mech,
          a.status == auth_status::temp_fail ? result_tempfail
          : a.throttled                      ? result_throttled
          : a.status == auth_status::ok      ? result_ok
                                             : result_failed,
          started);
    std::string client = r.client.empty() ? std::string("unknown") : log_field(r.client);
    if (a.status == auth_status::temp_fail) {
        if (db_state_.failure()) {
            log::warning("database unavailable, authentication answers temporary failure: {}",
                         a.reason);
        }
        log::info("{}: {} authentication deferred: login={} service={} reason=temporary failure",
                  client, mech, log_field(a.user), log_field(r.service));
        return std::nullopt;
    }
    if (db_state_.success()) {
        log::info("database available again: authentication works");
    }
    if (a.status == auth_status::failed) {
        log::info("{}: {} authentication failed: login={} service={} reason={}", client, mech,
                  log_field(a.user), log_field(r.service), a.reason);
    } else {
        log::debug("{}: {} authentication ok: login={} service={}{}", client, mech,
                   log_field(a.user), log_field(r.service),
                   a.reason.empty() ? "" : " (" + a.reason + ")");
    }
    return a;
}

// One Dovecot-protocol connection: the requests Postfix has started and not finished.
class authd_service::dovecot_session {
public:
    explicit dovecot_session(authd_service& svc) : svc_(svc) {}

    // The reply to one parsed line ("" for none); nullopt = temporary failure: drop the link.
    std::optional<std::string> answer(const proto::dovecot_auth_parse& parsed) {
        const auto& c = parsed.request;
        using verb = proto::dovecot_auth_command::verb;
        if (parsed.what == proto::dovecot_auth_parse::kind::error) {
            return proto::encode_dovecot_fail(c.id, "Invalid request");
        }
        if (c.what == verb::auth) {
            std::string out = start(c);
            if (!out.empty() || !c.has_response) {
                return out;
            }
        } else if (c.what != verb::cont) {
            return std::string();  // VERSION, CPID, unknown: nothing to answer
        } else if (!pending_.contains(c.id)) {
            return proto::encode_dovecot_fail(c.id, "Unknown request");
        }
        return step(c);
    }

private:
    struct pending_request {
        enum class stage { plain, login_user, login_password };
        stage at = stage::plain;
        std::string mech, service, client, username;
    };

    // AUTH: refuses, or records the request and returns its first challenge ("" when the
    // initial response is to be handled at once by step()).
    std::string start(const proto::dovecot_auth_command& c) {
        using stage = pending_request::stage;
        pending_request p{stage::plain, c.mech, c.service, c.remote_ip, {}};
        if (c.mech != "PLAIN" && c.mech != "LOGIN") {
            return proto::encode_dovecot_fail(c.id, "Unsupported authentication mechanism");
        }
        if (!c.secured && !svc_.settings_.get()->allow_cleartext) {  // SIGHUP-able
            log::info("{}: {} authentication refused: cleartext connection", log_field(c.remote_ip),
                      c.mech);
            return proto::encode_dovecot_fail(
                c.id, "Plaintext authentication disallowed on non-secure connections");
        }
        std::string out;
        if (c.mech == "LOGIN") {
            p.at = stage::login_user;
            if (!c.has_response) {
                out = proto::encode_dovecot_cont(c.id, base64_encode("Username:"));
            }
        } else if (!c.has_response) {
            out = proto::encode_dovecot_cont(c.id, "");
        }
        pending_[c.id] = std::move(p);
        if (pending_.size() > max_pending) {
            pending_.erase(pending_.begin());  // the oldest: Postfix abandoned it
        }
        return out;
    }

    // A client response (initial or CONT) to a pending request.
    std::optional<std::string> step(const proto::dovecot_auth_command& c) {
        pending_request p = std::move(pending_[c.id]);
        pending_.erase(c.id);
        auto decoded = base64_decode(c.response);
        if (!decoded) {
            return proto::encode_dovecot_fail(c.id, "Invalid base64 data");
        }
        crypto::secret data(std::move(*decoded));
        if (p.at == pending_request::stage::login_user) {
            p.username = std::string(data.view());
            p.at = pending_request::stage::login_password;
            pending_[c.id] = std::move(p);
            return proto::encode_dovecot_cont(c.id, base64_encode("Password:"));
        }
        if (p.at == pending_request::stage::login_password) {
            return finish(c.id, p, p.username, data.view());
        }
        auto m = proto::parse_plain_message(data.view());
        if (!m) {
            return proto::encode_dovecot_fail(c.id, "Invalid PLAIN message");
        }
        crypto::secret password(std::move(m->password));
        if (!m->authzid.empty() && m->authzid != m->authcid) {
            return proto::encode_dovecot_fail(c.id, "Login as another user not allowed");
        }
        return finish(c.id, p, m->authcid, password.view());
    }

    std::optional<std::string> finish(uint32_t id, const pending_request& p, std::string_view login,
                                      std::string_view password) {
        auto a = svc_.authenticate({login, password, p.service, p.client}, p.mech);
        if (!a) {
            return std::nullopt;
        }
        return a->status == auth_status::ok ? proto::encode_dovecot_ok(id, a->user)
                                            : proto::encode_dovecot_fail(id, generic_reason);
    }

    authd_service& svc_;
    std::map<uint32_t, pending_request> pending_;
};

void authd_service::serve_dovecot(net::connection& conn) {
    auto s = settings_.get();
    std::string cookie = hex_encode(crypto::random_bytes(16));
    std::vector<proto::dovecot_mech> mechs = {{"PLAIN", {"plaintext"}}, {"LOGIN", {"plaintext"}}};
    if (conn.write_all(proto::encode_dovecot_handshake(mechs, pid_, ++connections_, cookie),
                       s->request_timeout) != net::io_status::ok) {
        return;
    }
    dovecot_session session(*this);
    // Requests carry passwords: the loop wipes what it read. A LOGIN exchange may wait long for
    // its CONT (smtpd allows the remote client minutes): each line is a request of its own.
    net::serve_requests(
        conn,
        {.idle_timeout = s->idle_timeout, .request_timeout = s->request_timeout, .secret = true},
        [](std::string_view buf) { return proto::parse_dovecot_auth_line(buf); },
        [&](const proto::dovecot_auth_parse& parsed) -> std::optional<std::string> {
            if (parsed.what == proto::dovecot_auth_parse::kind::error) {
                log::warning("dovecot client {}: {}", printable(conn.peer()), parsed.error);
                if (parsed.fatal) {
                    return std::nullopt;
                }
            }
            // nullopt: a temporary failure; Postfix says 454 when the connection drops.
            return session.answer(parsed);
        });
}

void authd_service::serve_saslauthd(net::connection& conn) {
    auto s = settings_.get();
    // One request per connection, which must arrive whole within request_timeout.
    net::serve_requests(
        conn,
        {.idle_timeout = s->request_timeout,
         .request_timeout = s->request_timeout,
         .one_request = true,
         .secret = true},
        [](std::string_view buf) { return proto::parse_saslauthd_request(buf); },
        [&](proto::saslauthd_parse& parsed) -> std::optional<std::string> {
            if (parsed.what == proto::saslauthd_parse::kind::error) {
                log::warning("saslauthd client: {}", parsed.error);
                return proto::encode_saslauthd_reply(false, "bad request");
            }
            crypto::secret pw(std::move(parsed.request.password));
            std::string login = proto::saslauthd_full_login(parsed.request);
            auto a = authenticate({login, pw.view(), parsed.request.service, ""}, "saslauthd");
            if (!a) {
                return std::nullopt;  // no temporary reply exists: closing gives SASL_FAIL
            }
            bool ok = a->status == auth_status::ok;
            return proto::encode_saslauthd_reply(ok, ok ? "Success." : generic_reason);
        });
}

void authd_service::handle(net::connection& conn, const net::listener& where) {
    if (where.tag == "dovecot") {
        serve_dovecot(conn);
    } else if (where.tag == "saslauthd") {
        serve_saslauthd(conn);
    }
}

}  // namespace vhostmail::authd
