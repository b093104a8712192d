// SPDX-License-Identifier: Apache-2.0
// cmd_status.cc - vhostmail status: how each daemon is, from its metrics endpoint
// (<daemon>_metrics_listen, docs/metrics.md): reachable, version, uptime, the routing copy's
// age, the database as the daemon sees it, and what it answered in the last five minutes. Exit
// status 1 when something is down, for monitoring checks.
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/metrics/exposition.hh"
#include "lib/net/client.hh"
#include "lib/proto/http_request.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

constexpr auto scrape_timeout = std::chrono::milliseconds(3000);
constexpr size_t max_response = 16u << 20;  // far more than any daemon's metrics

// The samples a daemon's endpoint serves, or why not.
std::optional<std::vector<metrics::sample>> scrape(const std::string& endpoint,
                                                   std::string& error) {
    auto where = net::parse_endpoint(endpoint, error);
    if (!where) {
        return std::nullopt;
    }
    unique_fd fd = net::connect_endpoint(*where, scrape_timeout, error);
    if (!fd) {
        return std::nullopt;
    }
    std::string request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    // send(MSG_NOSIGNAL): a peer that resets the connection must not kill the tool (SIGPIPE).
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        error = endpoint + ": cannot send the request";
        return std::nullopt;
    }
    std::string raw;
    auto deadline = std::chrono::steady_clock::now() + scrape_timeout;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);  // bounded by SO_RCVTIMEO
        if (n == 0) {
            break;
        }
        if (n < 0 || raw.size() + static_cast<size_t>(n) > max_response ||
            std::chrono::steady_clock::now() > deadline) {
            error = endpoint + (n < 0 ? ": no complete answer in time" : ": answer too long");
            return std::nullopt;
        }
        raw.append(buf, static_cast<size_t>(n));
    }
    auto response = proto::parse_http_response(raw, error);
    if (!response) {
        error = endpoint + ": " + error;
        return std::nullopt;
    }
    if (response->status != 200) {
        error = endpoint + ": HTTP " + std::to_string(response->status);
        return std::nullopt;
    }
    auto samples = metrics::parse_exposition(response->body, error);
    if (!samples) {
        error = endpoint + ": " + error;
    }
    return samples;
}

// "2d 3h", "5h 12m", "4m 10s", "12s", "0.25s"
std::string rough_duration(double seconds) {
    if (std::isinf(seconds) && seconds > 0) {
        return "never";
    }
    // What a daemon says is not trusted to be sane: anything else odd is shown as such.
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e12) {
        return "?";
    }
    if (seconds < 10) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2gs", seconds);
        return buf;
    }
    auto s = static_cast<int64_t>(seconds);

    struct unit {
        int64_t size;
        const char* name;
    };

    static constexpr unit units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
    for (size_t i = 0; i + 1 < std::size(units); ++i) {
        if (s >= units[i].size) {
            return std::to_string(s / units[i].size) + units[i].name + " " +
                   std::to_string(s % units[i].size / units[i + 1].size) + units[i + 1].name;
        }
    }
    return std::to_string(s) + "s";
}

struct daemon_status {
    std::string name;      // "lookupd"
    std::string endpoint;  // "" when the daemon has no metrics listener
    bool reachable = false;
    std::string version;
    std::optional<double> uptime, routing_age, database_up, requests, failures;
    std::vector<std::string> problems;
};

std::optional<double> number(const std::vector<metrics::sample>& s, const char* name) {
    return metrics::find_sample(s, name);
}

daemon_status ask(const config::config& cfg, const config::daemon_params& d) {
    daemon_status st;
    std::string prefix(d.prefix);
    st.name = prefix.substr(0, prefix.size() - 1);
    st.endpoint = cfg.get_string(prefix + "metrics_listen");
    if (st.endpoint.empty()) {
        return st;
    }
    std::string error;
    auto samples = scrape(st.endpoint, error);
    if (!samples) {
        st.problems.push_back("not reachable: " + error);
        return st;
    }
    st.reachable = true;
    for (const auto& s : *samples) {
        if (s.name == "vhostmail_build_info") {
            st.version = std::string(s.label("version"));
        }
    }
    if (auto started = number(*samples, "process_start_time_seconds")) {
        st.uptime = static_cast<double>(std::time(nullptr)) - *started;
    }
    st.routing_age = number(*samples, "vhostmail_routing_age_seconds");
    st.database_up = number(*samples, "vhostmail_database_up");
    st.requests = number(*samples, "vhostmail_recent_requests");
    st.failures = number(*samples, "vhostmail_recent_request_failures");
    if (st.database_up && *st.database_up == 0) {
        st.problems.push_back("cannot reach the database");
    }
    // lmtpd routes through the database when its copy is stale: only a slower path.
    std::string bound = prefix + "max_staleness";
    if (st.routing_age && st.name != "lmtpd" && cfg.declared(bound)) {
        double limit = std::chrono::duration<double>(cfg.get_duration(bound)).count();
        if (*st.routing_age > limit) {
            st.problems.push_back("routing data " + rough_duration(*st.routing_age) +
                                  " old, more than " + bound +
                                  ": its answers are temporary"
                                  " failures");
        }
    }
    return st;
}

std::string cell(const std::optional<double>& v, std::string (*show)(double)) {
    return v ? show(*v) : "-";
}

std::string count_text(double v) {
    if (!std::isfinite(v) || v < 0 || v > 1e15) {
        return "?";
    }
    return std::to_string(static_cast<int64_t>(v));
}

void print_text(const context& ctx, const std::vector<daemon_status>& all, bool watched) {
    vhost::table t{{"DAEMON", "STATE", "VERSION", "UPTIME", "ROUTING AGE", "DATABASE",
                    "REQUESTS 5M", "FAILED 5M"},
                   {}};
    for (const auto& st : all) {
        std::string state = st.endpoint.empty()   ? "unwatched"
                            : !st.reachable       ? "DOWN"
                            : st.problems.empty() ? "up"
                                                  : "PROBLEM";
        std::string db = !st.database_up ? "-" : *st.database_up != 0 ? "up" : "DOWN";
        t.rows.push_back({st.name, state, st.version.empty() ? "-" : st.version,
                          cell(st.uptime, rough_duration), cell(st.routing_age, rough_duration), db,
                          cell(st.requests, count_text), cell(st.failures, count_text)});
    }
    print_table(ctx, t);
    if (!watched) {
        std::puts("nothing to watch: set <daemon>_metrics_listen (docs/metrics.md)");
        return;
    }
    for (const auto& st : all) {
        for (const auto& p : st.problems) {
            std::printf("%s: %s\n", st.name.c_str(), p.c_str());
        }
    }
}

void print_json_status(const std::vector<daemon_status>& all, bool ok) {
    auto daemons = nlohmann::ordered_json::array();
    auto opt = [](const std::optional<double>& v) -> nlohmann::ordered_json {
        if (!v || std::isnan(*v)) {
            return nullptr;
        }
        return std::isinf(*v) ? nlohmann::ordered_json("never") : nlohmann::ordered_json(*v);
    };
    for (const auto& st : all) {
        daemons.push_back(
            {{"daemon", st.name},
             {"metrics_listen", st.endpoint},
             {"watched", !st.endpoint.empty()},
             {"reachable", st.reachable},
             {"version", st.version},
             {"uptime_seconds", opt(st.uptime)},
             {"routing_age_seconds", opt(st.routing_age)},
             {"database_up", st.database_up ? nlohmann::ordered_json(*st.database_up != 0)
                                            : nlohmann::ordered_json(nullptr)},
             {"recent_requests", opt(st.requests)},
             {"recent_failures", opt(st.failures)},
             {"problems", st.problems}});
    }
    print_json({{"ok", ok}, {"daemons", daemons}});
}

int status(context& ctx, const words&) {
    auto loaded = load_daemons_config(ctx);
    if (!loaded.cfg) {
        for (const auto& e : loaded.errors) {
            std::fprintf(stderr, "vhostmail: %s\n", e.c_str());
        }
        return exit_failed;
    }
    std::vector<daemon_status> all;
    bool ok = true, watched = false;
    for (const auto* d : daemon_param_tables()) {
        all.push_back(ask(*loaded.cfg, *d));
        ok = ok && all.back().problems.empty();
        watched = watched || !all.back().endpoint.empty();
    }
    ok = ok && watched;
    if (ctx.json()) {
        print_json_status(all, ok);
    } else {
        print_text(ctx, all, watched);
    }
    return ok ? exit_ok : exit_failed;
}

}  // namespace

std::vector<command> status_commands() {
    return {{"status", "", "how each daemon is, from its metrics endpoint", 0, 0, status,
             "Asks every daemon whose <daemon>_metrics_listen is set (in the configuration the\n"
             "daemons read) for its metrics, and shows: reachable, version, uptime, the age of\n"
             "its routing data, whether it reaches the database, and the requests it answered\n"
             "in the last 5 minutes with those that failed (temporary failures, errors).\n"
             "Exit status 1 when a watched daemon cannot be reached, cannot reach the database,\n"
             "or answers from routing data older than its *_max_staleness (lmtpd excepted: it\n"
             "then routes through the database), and when no daemon is watched; 0 otherwise.\n"
             "--json: {\"ok\": bool, \"daemons\": [...]} with numbers in seconds.\n",
             true}};
}

}  // namespace vhostmail::admin
