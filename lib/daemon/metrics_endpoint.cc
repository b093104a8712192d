// SPDX-License-Identifier: Apache-2.0
#include "lib/daemon/metrics_endpoint.hh"

#include <cstdlib>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/db/errors.hh"
#include "lib/log/log.hh"
#include "lib/net/request_loop.hh"
#include "lib/proto/http_request.hh"

#ifndef VHOSTMAIL_VERSION
#error "VHOSTMAIL_VERSION: lib/daemon/CMakeLists.txt defines it from the project's version"
#endif

namespace vhostmail {

namespace {

constexpr auto linger_time = std::chrono::milliseconds(1000);
constexpr size_t linger_bytes = 64 * 1024;

// Descriptors open in this process, not counting the one that reads /proc/self/fd; -1 when it
// cannot be read.
double open_fds() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
        return -1;
    }
    double n = 0;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(dir)) {
            ++n;
        }
    }
    closedir(dir);
    return n;
}

// A "Name: value" number of /proc/self/status, -1 when missing.
double status_field(std::string_view name) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
            return std::strtod(line.c_str() + name.size() + 1, nullptr);
        }
    }
    return -1;
}

double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    long long size = 0, resident = -1;
    statm >> size >> resident;
    return resident < 0
               ? -1
               : static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::string answer(const proto::http_parse& parsed, const metrics::registry& r) {
    if (parsed.what == proto::http_parse::kind::error) {
        return proto::encode_http_refusal(parsed);
    }
    const auto& request = parsed.request;
    bool head = request.method == "HEAD";
    if (request.method != "GET" && !head) {
        return proto::encode_http_response(405, "text/plain; charset=utf-8",
                                           "only GET and HEAD are served\n", false,
                                           "Allow: GET, HEAD\r\n");
    }
    if (request.path() != "/metrics") {
        return proto::encode_http_response(404, "text/plain; charset=utf-8",
                                           "metrics are at /metrics\n", head);
    }
    return proto::encode_http_response(200, "text/plain; version=0.0.4; charset=utf-8", r.expose(),
                                       head);
}

}  // namespace

void expose_pool(metrics::registry& r, const db::pool& p) {
    r.computed("vhostmail_db_pool_connections",
               "Database connections open (idle and in use) in the daemon's pool.",
               [&p] { return static_cast<double>(p.current_stats().open); });
    r.computed("vhostmail_db_pool_idle_connections", "Database connections idle in the pool.",
               [&p] { return static_cast<double>(p.current_stats().idle); });
    r.computed("vhostmail_db_pool_waiting",
               "Requests waiting for a database connection of the pool.",
               [&p] { return static_cast<double>(p.current_stats().waiting); });
}

void serve_metrics_request(net::connection& conn, const metrics::registry& r) {
    net::serve_requests(
        conn, {.request_timeout = metrics_endpoint::scrape_timeout, .one_request = true},
        [](std::string_view buf) { return proto::parse_http_request(buf); },
        [&r](const proto::http_parse& parsed) -> std::optional<std::string> {
            return answer(parsed, r);
        });
    // A refused request may leave bytes unread, and closing on them would reset the
    // connection, which can discard the response before the client reads it: end our side,
    // then read what the client still sends, for a moment (a lingering close, RFC 9112
    // section 9.6).
    ::shutdown(conn.fd(), SHUT_WR);
    std::string discard;
    auto until = std::chrono::steady_clock::now() + linger_time;
    while (discard.size() < linger_bytes) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0 || conn.read_some(discard, 16384, left) != net::io_status::ok) {
            break;
        }
    }
}

metrics_endpoint::metrics_endpoint(metrics::registry& r, std::string daemon_name) : registry_(r) {
    r.gauges("vhostmail_build_info", "The daemon and its version (always 1).",
             {"daemon", "version"})
        .with({std::move(daemon_name), VHOSTMAIL_VERSION})
        .set(1);
    double started = static_cast<double>(std::time(nullptr));
    r.computed("process_start_time_seconds", "When the daemon started, in seconds since 1970.",
               [started] { return started; });
    r.computed("process_resident_memory_bytes", "Resident memory of the daemon (RSS).",
               [] { return resident_bytes(); });
    r.computed("process_open_fds", "Open file descriptors.", [] { return open_fds(); });
    r.computed("process_threads", "Threads of the daemon.", [] { return status_field("Threads"); });
    auto& errors = r.counters("vhostmail_db_errors_total",
                              "Database errors, by class (docs/metrics.md).", {"class"});
    for (size_t i = 0; i < db_errors_.size(); ++i) {
        db_errors_[i] = &errors.with({db::error_classes[i]});
    }
    // Before any thread uses the database: the services start after this.
    db::set_error_observer(
        [](const db::error& e, void* context) {
            auto* self = static_cast<metrics_endpoint*>(context);
            std::string_view cls = db::error_class(e.code);
            for (size_t i = 0; i < self->db_errors_.size(); ++i) {
                if (cls == db::error_classes[i]) {
                    self->db_errors_[i]->add();
                }
            }
        },
        this);
}

metrics_endpoint::~metrics_endpoint() {
    stop();
    db::set_error_observer(nullptr, nullptr);
}

bool metrics_endpoint::open(const std::string& endpoint,
                            const net::unix_socket_options& unix_options) {
    if (endpoint.empty()) {
        return true;
    }
    std::string error;
    auto where = net::parse_endpoint(endpoint, error);
    if (!where) {
        log::error("{}", error);
        return false;
    }
    auto opened = net::open_listener(*where, unix_options, "metrics");
    if (!opened.value) {
        log::error("cannot listen on {}: {}", endpoint, opened.error);
        return false;
    }
    log::info("listening on {} for metrics", endpoint);
    listeners_.push_back(std::move(*opened.value));
    return true;
}

void metrics_endpoint::start() {
    if (listeners_.empty()) {
        return;
    }
    server_ = std::make_unique<net::server>(
        std::move(listeners_), max_scrapers,
        [this](net::connection& c, const net::listener&) { serve_metrics_request(c, registry_); },
        [](const std::string& w) { log::warning("metrics: {}", w); });
    thread_ = std::thread([this] { server_->run(std::chrono::milliseconds(0)); });
}

void metrics_endpoint::stop() {
    if (server_) {
        server_->stop();
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

}  // namespace vhostmail
