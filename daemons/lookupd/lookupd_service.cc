// SPDX-License-Identifier: Apache-2.0
#include "daemons/lookupd/lookupd_service.hh"

#include <ctime>

#include "lib/core/strings.hh"
#include "lib/db/from_config.hh"
#include "lib/log/log.hh"
#include "lib/net/request_loop.hh"
#include "lib/proto/socketmap.hh"
#include "lib/proto/tcp_table.hh"
#include "lib/srs/srs_config.hh"
#include "lib/vhost/lookup_maps.hh"
#include "lib/vhost/routing_settings.hh"

namespace vhostmail::lookupd {

namespace {

std::string_view status_name(lookup_status s) {
    switch (s) {
        case lookup_status::found:
            return "found";
        case lookup_status::not_found:
            return "not found";
        case lookup_status::temp_fail:
            return "temporary failure";
    }
    return "?";
}

}  // namespace

lookupd_service::settings lookupd_service::read_settings(const config::config& cfg,
                                                         const settings* previous) {
    settings s;
    s.freshness.max_staleness = cfg.get_duration("lookupd_max_staleness");
    s.freshness.outage_grace = cfg.get_duration("lookupd_outage_grace");
    s.refresh_interval = cfg.get_duration("lookupd_refresh_interval");
    s.socketmap_idle = cfg.get_duration("lookupd_socketmap_idle_timeout");
    s.tcp_idle = cfg.get_duration("lookupd_tcp_idle_timeout");
    s.request_timeout = cfg.get_duration("lookupd_request_timeout");
    s.resolve = vhost::routing_options(cfg);
    s.resolve.trace = false;  // steps are for "vhostmail resolve", not the hot path
    auto srs_load = srs::codec_from_config(cfg);
    if (srs_load.error.empty()) {
        s.srs = std::move(srs_load.loaded);
    } else if (previous != nullptr && previous->srs) {
        log::error("{}; the SRS secrets read before stay in use", srs_load.error);
        s.srs = previous->srs;
    } else {
        log::error("{}; srs_forward and srs_reverse answer temporary failures", srs_load.error);
        s.srs_error = std::move(srs_load.error);
    }
    s.resolve.srs = s.srs.get();
    return s;
}

lookupd_service::lookupd_service(std::shared_ptr<const config::config> cfg,
                                 metrics::registry& metrics)
    : settings_(read_settings(*cfg, nullptr)),
      meter_(metrics, "map"),
      routing_(
          vhost::routing_source::copy_settings{
              .db = db_settings_from(*cfg),
              .refresh_interval = settings_.get()->refresh_interval,
              .outage_note = settings_.get()->freshness.outage_grace.count() > 0
                                 ? "lookups answer TEMP after the outage grace"
                                 : "lookups answer TEMP",
              .metrics = &metrics}
              .per_host(*cfg, true),
          nullptr) {
    using vhost::map_kind;
    for (size_t k = 0; k < vhost::map_kind_count; ++k) {
        auto map = static_cast<map_kind>(k);
        std::string name(vhost::to_string(map));
        auto& row = series_[static_cast<size_t>(map)];
        row[static_cast<size_t>(lookup_status::found)] = meter_.series(name, "found", false);
        row[static_cast<size_t>(lookup_status::not_found)] = meter_.series(name, "notfound", false);
        row[static_cast<size_t>(lookup_status::temp_fail)] = meter_.series(name, "tempfail", true);
    }
    refused_ = meter_.series("unknown", "refused", true);
}

void lookupd_service::count(std::optional<vhost::map_kind> map, lookup_status result,
                            std::chrono::steady_clock::time_point started) {
    const auto& series =
        map ? series_[static_cast<size_t>(*map)][static_cast<size_t>(result)] : refused_;
    series->record(std::chrono::steady_clock::now() - started);
}

lookupd_service::~lookupd_service() = default;

void lookupd_service::reload(std::shared_ptr<const config::config> cfg) {
    auto previous = settings_.get();
    settings_.set(read_settings(*cfg, previous.get()));
    routing_.set_refresh_interval(settings_.get()->refresh_interval);
}

lookup<std::string> lookupd_service::answer(std::string_view map_name, std::string_view key) {
    auto s = settings_.get();
    auto map = vhost::parse_map_name(map_name);
    if (!map) {
        return lookup<std::string>::temp_fail("unknown map");  // callers check first
    }
    if ((*map == vhost::map_kind::srs_forward || *map == vhost::map_kind::srs_reverse) &&
        !s->srs_error.empty()) {
        return lookup<std::string>::temp_fail(s->srs_error);
    }
    auto snap = routing_.current_copy(s->freshness);
    if (!snap) {
        return lookup<std::string>::temp_fail("routing data not current (database unavailable)");
    }
    vhost::snapshot_directory dir(std::move(snap));
    auto options = s->resolve;
    options.now = std::time(nullptr);
    vhost::answer_notes notes;
    auto r = vhost::answer(*map, key, dir, options, &notes);
    if (!notes.loop.empty() && loops_.ready(ascii_lower(key))) {
        log::warning(
            "{} {}: {}; mail for it goes only where the loop does not lead (vhostmail"
            " resolve shows the way; logged once an hour)",
            map_name, log_field(key), notes.loop);
    }
    log::debug("lookup {} \"{}\": {} {}", map_name, key, status_name(r.status),
               r.status == lookup_status::found ? r.value : r.reason);
    return r;
}

void lookupd_service::serve_socketmap(net::connection& conn) {
    using proto::socketmap_status;
    auto s = settings_.get();
    net::serve_requests(
        conn, {.idle_timeout = s->socketmap_idle, .request_timeout = s->request_timeout},
        [](std::string_view buf) { return proto::parse_socketmap_request(buf); },
        [this, &conn](const proto::socketmap_parse& parsed) -> std::optional<std::string> {
            auto started = std::chrono::steady_clock::now();
            if (parsed.what == proto::socketmap_parse::kind::error) {
                log::warning("client {}: {}", conn.peer(), parsed.error);
                count(std::nullopt, lookup_status::temp_fail, started);
                return proto::encode_socketmap_reply(socketmap_status::perm, parsed.error);
            }
            auto map = vhost::parse_map_name(parsed.request.map);
            if (!map) {
                count(std::nullopt, lookup_status::temp_fail, started);
                return proto::encode_socketmap_reply(socketmap_status::perm, "unknown map");
            }
            auto r = answer(parsed.request.map, parsed.request.key);
            count(map, r.status, started);
            switch (r.status) {
                case lookup_status::found:
                    return proto::encode_socketmap_reply(socketmap_status::ok, r.value);
                case lookup_status::not_found:
                    return proto::encode_socketmap_reply(socketmap_status::notfound, "");
                case lookup_status::temp_fail:
                    break;
            }
            return proto::encode_socketmap_reply(socketmap_status::temp, r.reason);
        });
}

void lookupd_service::serve_tcp(net::connection& conn, std::string_view map) {
    using proto::tcp_table_status;
    auto s = settings_.get();
    const auto kind = vhost::parse_map_name(map);  // the listener's map: once per connection
    net::serve_requests(
        conn, {.idle_timeout = s->tcp_idle, .request_timeout = s->request_timeout},
        [](std::string_view buf) { return proto::parse_tcp_table_request(buf); },
        [this, map, kind,
         &conn](const proto::tcp_table_parse& parsed) -> std::optional<std::string> {
            auto started = std::chrono::steady_clock::now();
            if (parsed.what == proto::tcp_table_parse::kind::error) {
                log::warning("client {}: {}", conn.peer(), parsed.error);
                count(std::nullopt, lookup_status::temp_fail, started);
                return proto::encode_tcp_table_reply(tcp_table_status::not_found, parsed.error);
            }
            auto r = answer(map, parsed.request.key);
            count(kind, r.status, started);
            switch (r.status) {
                case lookup_status::found: {
                    auto reply = proto::encode_tcp_table_reply(tcp_table_status::ok, r.value);
                    if (reply.starts_with("400 ") &&
                        too_long_for_tcp_.ready(ascii_lower(parsed.request.key))) {
                        log::warning(
                            "{} {}: the answer ({} bytes) does not fit a tcp_table reply (4096"
                            " bytes with its encoding): Postfix defers mail for it until served"
                            " over socketmap (postfix-snippets/main.cf.lookup; logged once an"
                            " hour)",
                            map, log_field(parsed.request.key), r.value.size());
                    }
                    return reply;
                }
                case lookup_status::not_found:
                    return proto::encode_tcp_table_reply(tcp_table_status::not_found, "not found");
                case lookup_status::temp_fail:
                    break;
            }
            return proto::encode_tcp_table_reply(tcp_table_status::temp, r.reason);
        });
}

void lookupd_service::handle(net::connection& conn, const net::listener& where) {
    if (where.tag == "socketmap") {
        serve_socketmap(conn);
    } else if (where.tag.starts_with("tcp:")) {
        serve_tcp(conn, std::string_view(where.tag).substr(4));
    }
}

}  // namespace vhostmail::lookupd
