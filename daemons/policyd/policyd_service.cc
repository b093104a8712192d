// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/policyd_service.hh"

#include <algorithm>
#include <unistd.h>

#include "lib/config/common_params.hh"
#include "lib/daemon/metrics_endpoint.hh"
#include "lib/db/from_config.hh"
#include "lib/log/log.hh"
#include "lib/net/request_loop.hh"
#include "lib/policy/checks.hh"
#include "lib/proto/policy.hh"

#include "daemons/policyd/settings.hh"

namespace vhostmail::policyd {

namespace {

// Unlike the other daemons, policyd's request threads read the database (greylist triplets,
// counters, usage): with the shared default of 4 connections, bench/policy measured a p99 of
// 10 ms at 50 Postfix connections, with 16 under 4 ms. An explicit db_pool_size still wins.
constexpr unsigned default_pool_size = 16;

db::settings request_pool(const config::config& cfg) {
    db::settings s = db_settings_from(cfg);
    if (!cfg.is_set(config::common::db_pool_size)) {
        s.pool_size = default_pool_size;
    }
    return s;
}

}  // namespace

policyd_service::settings policyd_service::read_settings(const config::config& cfg) {
    settings s;
    s.idle_timeout = cfg.get_duration("policyd_idle_timeout");
    s.request_timeout = cfg.get_duration("policyd_request_timeout");
    s.max_request = static_cast<size_t>(cfg.get_size("policyd_max_request_size"));
    s.mx_checks = checks_for(cfg, "mx");
    s.submission_checks = checks_for(cfg, "submission");
    return s;
}

policyd_service::policyd_service(std::shared_ptr<const config::config> cfg,
                                 metrics::registry& metrics)
    : settings_(read_settings(*cfg)),
      pool_(request_pool(*cfg)),
      store_(pool_, shard_id(*cfg, "policyd_shard_id"), store_settings_from(*cfg)),
      routing_(
          vhost::routing_source::copy_settings{
              .db = db_settings_from(*cfg),
              .refresh_interval = cfg->get_duration("policyd_refresh_interval"),
              .outage_note = "policy checks use their fault actions",
              .on_change = [this](db::connection& conn) { return store_.load_limits(conn); },
              .metrics = &metrics}
              .per_host(*cfg, false),
          nullptr),
      engine_(
          store_, [this](const vhost::freshness& rules) { return routing_.current_copy(rules); },
          engine_settings_from(*cfg)),
      meter_(metrics, "check") {
    static constexpr const char* result_names[] = {"dunno", "reject", "defer", "reply", "fault"};
    for (size_t k = 0; k < kinds; ++k) {
        const auto& checks = policy::all_checks();
        std::string kind(k < checks.size() ? policy::check_name(checks[k]) : "none");
        for (size_t r = 0; r < result_count; ++r) {
            series_[k][r] = meter_.series(kind, result_names[r], r == fault);
        }
    }
    malformed_ = meter_.series("none", "malformed", true);
    expose_pool(metrics, pool_);
    expose_store(metrics);
}

void policyd_service::expose_store(metrics::registry& metrics) {
    auto counter = [&](const char* name, const char* help, uint64_t store_counters::*field) {
        metrics.computed_counter(
            name, help, [this, field] { return static_cast<double>(store_.counters().*field); });
    };
    counter("vhostmail_db_statements_total",
            "Statements policyd's checks and flushes sent to the database.",
            &store_counters::statements);
    counter("vhostmail_policy_flushes_total",
            "Flushes of rate counters and greylisting state confirmed stored.",
            &store_counters::flushes_stored);
    counter("vhostmail_policy_flush_failures_total",
            "Flush attempts that failed temporarily; their updates stay in memory, in doubt.",
            &store_counters::flushes_failed);
    counter("vhostmail_policy_flushes_found_stored_total",
            "Flush attempts in doubt that a later flush found stored, so not written again.",
            &store_counters::flushes_found_stored);
    counter("vhostmail_policy_updates_stored_total",
            "Rate counter rows and greylisting writes stored by flushes.",
            &store_counters::updates_stored);
    counter("vhostmail_policy_updates_dropped_total",
            "Rate counter and greylisting updates dropped: refused by the database, or held"
            " in memory too long during an outage.",
            &store_counters::updates_dropped);
    metrics.computed("vhostmail_policy_unflushed_updates",
                     "Rate counter rows and greylisting writes not yet known stored.",
                     [this] { return static_cast<double>(store_.backlog().updates); });
    metrics.computed("vhostmail_policy_flushes_in_doubt",
                     "Failed flush attempts whose commit may or may not have been stored.",
                     [this] { return static_cast<double>(store_.backlog().in_doubt); });
}

void policyd_service::count(const decision* d, std::chrono::steady_clock::time_point started) {
    auto took = std::chrono::steady_clock::now() - started;
    if (d == nullptr) {
        malformed_->record(took);
        return;
    }
    const auto& checks = policy::all_checks();
    size_t k = std::find(checks.begin(), checks.end(), d->decided_by) - checks.begin();
    result r = dunno;
    if (d->fault) {
        r = fault;
    } else if (d->kind == action_kind::reject) {
        r = reject;
    } else if (d->temporary()) {
        r = defer;
    } else if (d->kind == action_kind::reply) {
        r = reply;
    }
    series_[std::min(k, kinds - 1)][r]->record(took);
}

policyd_service::~policyd_service() {
    routing_.stop();
}

void policyd_service::reload(std::shared_ptr<const config::config> cfg) {
    engine_.set_settings(engine_settings_from(*cfg));
    store_.set_settings(store_settings_from(*cfg));
    routing_.set_refresh_interval(cfg->get_duration("policyd_refresh_interval"));
    settings_.set(read_settings(*cfg));
}

// The per-request database cost, for admins sizing a cluster (and for bench/policy).
void policyd_service::stop() {
    // The refresher keeps running through the drain (requests still being answered need
    // current routing data); the destructor stops it.
    store_.flush();
    uint64_t requests = requests_.load();
    uint64_t statements = store_.counters().statements;
    log::info("served {} requests with {} database statements ({:.3f} per request)", requests,
              statements, requests ? static_cast<double>(statements) / requests : 0.0);
}

// Requests are answered one at a time, in order, as Postfix sends them. A malformed but framed
// request gets DEFER_IF_PERMIT and a log line; a request beyond the size limit, a timeout or the
// client leaving ends the connection (Postfix reconnects and retries the request).
void policyd_service::handle(net::connection& conn, const net::listener& where) {
    const auto s = settings_.get();
    const std::string& profile = where.tag;
    connection_state state;
    net::serve_requests(
        conn, {.idle_timeout = s->idle_timeout, .request_timeout = s->request_timeout},
        [&](std::string_view buf) { return proto::parse_policy_request(buf, s->max_request); },
        [&](const proto::policy_parse& parsed) -> std::optional<std::string> {
            auto started = std::chrono::steady_clock::now();
            if (parsed.what == proto::policy_parse::kind::error) {
                log::warning("client {}: malformed policy request: {}", conn.peer(), parsed.error);
                count(nullptr, started);
                if (parsed.fatal) {
                    return std::nullopt;
                }
                return proto::encode_policy_reply(
                    make_decision(action_kind::defer_if_permit, dsn::local_error,
                                  "Malformed policy request (" + parsed.error + ")")
                        .action());
            }
            auto context = parsed.request.get("policy_context");
            unsigned checks = profile == "submission" ? s->submission_checks : s->mx_checks;
            if (context == "submission") {
                checks = s->submission_checks;
            } else if (context == "mx") {
                checks = s->mx_checks;
            }
            auto d = engine_.decide(parsed.request, checks, state);
            if (!d.log_line.empty()) {
                if (d.warning) {
                    log::warning("{}", d.log_line);
                } else {
                    log::info("{}", d.log_line);
                }
            }
            requests_.fetch_add(1, std::memory_order_relaxed);
            count(&d, started);
            return proto::encode_policy_reply(d.action());
        });
}

}  // namespace vhostmail::policyd
