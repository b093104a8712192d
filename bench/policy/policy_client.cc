// SPDX-License-Identifier: Apache-2.0
// policy_client - a lean load generator for Postfix policy delegation servers (bench/policy).
//
//   policy_client --target inet:HOST:PORT|unix:PATH --input FILE [--connections K]
//                 [--requests N] [--timeout SECONDS] [--replies FILE]
//
// INPUT: requests exactly as they go on the wire (docs/protocols.md 4.1): "name=value" lines, each
// request ended by an empty line. The file is read completely before the clock starts, so the
// run costs only the socket work. Consecutive requests with the same "instance=" value are one
// mail transaction (RCPT ..., END-OF-MESSAGE): a transaction always goes over one connection, in
// order, like one smtpd process would send it.
//
// RUN: K persistent connections, one request in flight per connection (send, wait for the
// reply, send the next), driven by one thread with epoll, so the client itself costs little CPU.
// Transactions are handed out in file order to whichever connection is free. --requests N
// stops after the transaction that reaches N requests (default: the whole file).
//
// A reply is complete at its empty line. The verb of its "action=" attribute (the first word,
// upper-cased) is counted; the first full action text of each verb is kept as an example.
// A connection the server closes, or a socket error, is reopened and the request sent once
// more (Postfix retries a policy request once, docs/protocols.md 4.5); a second failure counts the
// request as failed. No reply within --timeout seconds ends the run with exit status 1.
//
// OUTPUT (stdout), one "key=value" per line, for bench_policy.py and for people:
//   requests, completed, failed, reconnects, wall_seconds, requests_per_second,
//   latency_us_{mean,p50,p90,p99,p999,max}, client_cpu_seconds,
//   action.VERB=count and example.VERB=first action text, per verb seen.
// --replies FILE writes, per request in input order, the verb of its reply ("-" for a failed
// request), a tab and its latency in microseconds, so the caller can check the answers and
// the latencies per request kind.
//
// No dependencies beyond libc and libstdc++: g++ -O2 -o policy_client policy_client.cc

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr std::size_t reply_buffer_size = 65536;  // one reply; Postfix has no limit, we do
constexpr int max_attempts = 2;                   // like smtpd_policy_service_try_limit

[[noreturn]] void die(const char* fmt, const char* arg = "") {
    std::fprintf(stderr, "policy_client: ");
    std::fprintf(stderr, fmt, arg);
    std::fprintf(stderr, "\n");
    std::exit(1);
}

std::uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

struct options {
    std::string target;
    std::string input;
    std::string replies;
    int connections = 8;
    long long requests = -1;  // -1: the whole file
    double timeout = 30.0;
};

void usage() {
    std::fprintf(stderr,
                 "usage: policy_client --target inet:HOST:PORT|unix:PATH --input FILE\n"
                 "                     [--connections K] [--requests N] [--timeout SECONDS]\n"
                 "                     [--replies FILE]\n");
    std::exit(2);
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc)
                usage();
            return argv[++i];
        };
        if (a == "--target")
            o.target = value();
        else if (a == "--input")
            o.input = value();
        else if (a == "--replies")
            o.replies = value();
        else if (a == "--connections")
            o.connections = std::atoi(value());
        else if (a == "--requests")
            o.requests = std::atoll(value());
        else if (a == "--timeout")
            o.timeout = std::atof(value());
        else
            usage();
    }
    if (o.target.empty() || o.input.empty() || o.connections < 1 || o.timeout <= 0)
        usage();
    return o;
}

std::string read_file(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("cannot open %s", path.c_str());
    std::string data;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        data.reserve(static_cast<std::size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("cannot read %s", path.c_str());
        if (n == 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    close(fd);
    return data;
}

struct request {
    std::uint32_t offset;
    std::uint32_t length;
};

struct transaction {
    std::uint32_t first;  // index of its first request
    std::uint32_t count;
};

// Splits the file into requests (each ending with its empty line) and groups consecutive requests
// with the same instance= value into transactions.
void split_input(const std::string& data, std::vector<request>& reqs,
                 std::vector<transaction>& txns) {
    if (data.size() > 0xffffffffu)
        die("input file too large (4 GB max)");
    std::size_t pos = 0;
    std::size_t start = 0;
    bool has_attr = false;
    std::string_view instance, prev_instance;
    while (pos < data.size()) {
        std::size_t eol = data.find('\n', pos);
        if (eol == std::string::npos)
            die("input does not end with an empty line");
        std::string_view line(data.data() + pos, eol - pos);
        pos = eol + 1;
        if (line.empty()) {
            if (!has_attr) {  // stray empty line between requests: skip it
                start = pos;
                continue;
            }
            reqs.push_back(
                {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(pos - start)});
            if (!txns.empty() && !instance.empty() && instance == prev_instance)
                ++txns.back().count;
            else
                txns.push_back({static_cast<std::uint32_t>(reqs.size() - 1), 1});
            prev_instance = instance;
            instance = {};
            has_attr = false;
            start = pos;
        } else {
            if (line.find('=') == std::string_view::npos)
                die("input line without '=' (not a policy request?)");
            if (line.substr(0, 9) == "instance=")
                instance = line.substr(9);
            has_attr = true;
        }
    }
    if (has_attr)
        die("input does not end with an empty line");
}

// -- connections ---------------------------------------------------------------------------------

struct target_addr {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = AF_UNSPEC;
};

target_addr resolve(const std::string& target) {
    target_addr t;
    if (target.rfind("unix:", 0) == 0) {
        std::string path = target.substr(5);
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (path.size() >= sizeof un.sun_path)
            die("unix socket path too long: %s", path.c_str());
        std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
        std::memcpy(&t.addr, &un, sizeof un);
        t.len = sizeof un;
        t.family = AF_UNIX;
        return t;
    }
    if (target.rfind("inet:", 0) != 0)
        die("target must be inet:HOST:PORT or unix:PATH, not %s", target.c_str());
    std::string hostport = target.substr(5);
    std::size_t colon = hostport.rfind(':');
    if (colon == std::string::npos)
        die("target needs a port: %s", target.c_str());
    std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
        die("cannot resolve %s", target.c_str());
    std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
    t.len = res->ai_addrlen;
    t.family = res->ai_family;
    freeaddrinfo(res);
    return t;
}

int open_connection(const target_addr& t) {
    int fd = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) != 0) {
        close(fd);
        return -1;
    }
    if (t.family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

struct connection {
    int fd = -1;
    bool active = false;    // has a request in flight
    bool want_out = false;  // EPOLLOUT registered (partial write pending)
    std::uint32_t cur = 0;  // request in flight
    std::uint32_t end = 0;  // one past the last request of its transaction
    std::uint32_t written = 0;
    int attempt = 1;
    std::uint64_t t0 = 0;
    std::vector<char> buf;
    std::size_t have = 0;
};

class client {
public:
    client(const options& o, std::string data, std::vector<request> reqs,
           std::vector<transaction> txns)
        : opt_(o), data_(std::move(data)), reqs_(std::move(reqs)), txns_(std::move(txns)) {
        target_ = resolve(opt_.target);
        latency_.assign(reqs_.size(), 0);
        verb_of_.assign(reqs_.size(), no_reply);
    }

    int run();

private:
    static constexpr std::uint16_t no_reply = 0xffff;

    void start_next(connection& c);
    void send_current(connection& c);
    void on_readable(connection& c);
    void on_reply(connection& c, std::size_t reply_len);
    void on_broken(connection& c, const char* why);
    void watch(connection& c, bool out);
    std::uint16_t verb_id(std::string_view verb, std::string_view text);
    void report(std::uint64_t wall_ns);

    const options& opt_;
    std::string data_;
    std::vector<request> reqs_;
    std::vector<transaction> txns_;
    target_addr target_;
    int ep_ = -1;
    std::vector<connection> conns_;
    std::size_t next_txn_ = 0;
    std::size_t limit_txns_ = 0;
    std::size_t done_ = 0;
    std::size_t failed_ = 0;
    std::size_t reconnects_ = 0;
    std::size_t sent_requests_ = 0;
    std::vector<std::uint64_t> latency_;  // ns per request, in input order
    std::vector<std::uint16_t> verb_of_;
    std::vector<std::string> verbs_;
    std::vector<std::string> examples_;
    std::vector<std::size_t> verb_counts_;
};

void client::watch(connection& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
}

void client::start_next(connection& c) {
    if (c.active && c.cur + 1 < c.end) {
        ++c.cur;
    } else if (next_txn_ < limit_txns_) {
        const transaction& t = txns_[next_txn_++];
        c.cur = t.first;
        c.end = t.first + t.count;
    } else {
        c.active = false;
        return;
    }
    c.active = true;
    c.attempt = 1;
    c.written = 0;
    c.have = 0;
    c.t0 = now_ns();
    ++sent_requests_;
    send_current(c);
}

void client::send_current(connection& c) {
    const request& r = reqs_[c.cur];
    while (c.written < r.length) {
        ssize_t n =
            send(c.fd, data_.data() + r.offset + c.written, r.length - c.written, MSG_NOSIGNAL);
        if (n > 0) {
            c.written += static_cast<std::uint32_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.want_out)
                watch(c, true);
            return;
        }
        on_broken(c, "send failed");
        return;
    }
    if (c.want_out)
        watch(c, false);
}

void client::on_broken(connection& c, const char* why) {
    // Reopen the connection; send the request in flight once more, or give it up.
    epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.want_out = false;
    c.fd = open_connection(target_);
    ++reconnects_;
    if (reconnects_ <= 5)
        std::fprintf(stderr, "policy_client: %s; reconnecting\n", why);
    if (c.fd < 0)
        die("cannot reconnect to %s", opt_.target.c_str());
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = &c;
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    if (!c.active)
        return;
    c.have = 0;
    c.written = 0;
    if (++c.attempt <= max_attempts) {
        send_current(c);
    } else {
        ++failed_;
        ++done_;
        start_next(c);
    }
}

std::uint16_t client::verb_id(std::string_view verb, std::string_view text) {
    for (std::size_t i = 0; i < verbs_.size(); ++i)
        if (verbs_[i] == verb)
            return static_cast<std::uint16_t>(i);
    if (verbs_.size() >= no_reply - 1)
        return static_cast<std::uint16_t>(verbs_.size() - 1);
    verbs_.emplace_back(verb);
    examples_.emplace_back(text.substr(0, 300));
    verb_counts_.push_back(0);
    return static_cast<std::uint16_t>(verbs_.size() - 1);
}

void client::on_reply(connection& c, std::size_t reply_len) {
    std::uint64_t t1 = now_ns();
    latency_[c.cur] = t1 - c.t0;
    // Find "action=" at the start of a line; its first word, upper-cased, is the verb.
    std::string_view reply(c.buf.data(), reply_len);
    std::string_view text;
    std::size_t p = 0;
    bool found = false;
    while (p < reply.size()) {
        std::size_t eol = reply.find('\n', p);
        std::string_view line = reply.substr(p, eol - p);
        if (line.substr(0, 7) == "action=") {
            text = line.substr(7);
            found = true;
            break;
        }
        p = eol + 1;
    }
    char verb[40];
    std::size_t n = 0;
    if (!found) {
        std::memcpy(verb, "(no action)", 11);
        n = 11;
    } else if (text.empty()) {
        std::memcpy(verb, "(empty)", 7);
        n = 7;
    } else {
        while (n < text.size() && n < sizeof verb && text[n] != ' ' && text[n] != '\t') {
            char ch = text[n];
            verb[n++] = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 32) : ch;
        }
    }
    std::uint16_t id = verb_id(std::string_view(verb, n), text);
    ++verb_counts_[id];
    verb_of_[c.cur] = id;
    ++done_;
    if (c.have > reply_len) {
        // More than one reply to one request: a server bug; drop the rest and say so once.
        static bool told = false;
        if (!told)
            std::fprintf(stderr, "policy_client: extra bytes after a reply (ignored)\n");
        told = true;
    }
    c.have = 0;
    start_next(c);
}

void client::on_readable(connection& c) {
    for (;;) {
        if (c.have == c.buf.size()) {
            on_broken(c, "reply larger than the client's buffer");
            return;
        }
        ssize_t n = recv(c.fd, c.buf.data() + c.have, c.buf.size() - c.have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            on_broken(c, n == 0 ? "server closed the connection" : "recv failed");
            return;
        }
        std::size_t scan_from = c.have > 0 ? c.have - 1 : 0;
        c.have += static_cast<std::size_t>(n);
        if (!c.active) {  // unsolicited data: ignored
            c.have = 0;
            continue;
        }
        if (c.buf[0] == '\n') {  // an empty reply (no attributes at all)
            on_reply(c, 1);
            return;
        }
        std::size_t end = std::string_view(c.buf.data(), c.have).find("\n\n", scan_from);
        if (end == std::string_view::npos)
            continue;
        on_reply(c, end + 2);
        return;  // level-triggered: epoll reports anything left
    }
}

int client::run() {
    std::size_t limit_reqs = reqs_.size();
    limit_txns_ = txns_.size();
    if (opt_.requests >= 0 && static_cast<std::size_t>(opt_.requests) < reqs_.size()) {
        std::size_t count = 0;
        limit_txns_ = 0;
        while (limit_txns_ < txns_.size() && count < static_cast<std::size_t>(opt_.requests))
            count += txns_[limit_txns_++].count;
        limit_reqs = count;
    }
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0)
        die("epoll_create1 failed");
    conns_.resize(static_cast<std::size_t>(opt_.connections));
    for (auto& c : conns_) {
        c.fd = open_connection(target_);
        if (c.fd < 0)
            die("cannot connect to %s", opt_.target.c_str());
        c.buf.resize(reply_buffer_size);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = &c;
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    std::uint64_t t_start = now_ns();
    for (auto& c : conns_)
        start_next(c);
    std::vector<epoll_event> events(conns_.size());
    const std::uint64_t timeout_ns = static_cast<std::uint64_t>(opt_.timeout * 1e9);
    while (done_ < limit_reqs) {
        int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 1000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait failed");
        for (int i = 0; i < n; ++i) {
            auto& c = *static_cast<connection*>(events[i].data.ptr);
            if (events[i].events & EPOLLOUT)
                send_current(c);
            if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                on_readable(c);
        }
        if (n == 0) {
            std::uint64_t t = now_ns();
            for (auto& c : conns_) {
                if (c.active && t - c.t0 > timeout_ns) {
                    std::fprintf(stderr,
                                 "policy_client: no reply within %.1f s (request %u); giving up\n",
                                 opt_.timeout, c.cur + 1);
                    std::exit(1);
                }
            }
        }
        bool any = false;
        for (auto& c : conns_)
            any = any || c.active;
        if (!any)
            break;
    }
    std::uint64_t wall = now_ns() - t_start;
    for (auto& c : conns_)
        close(c.fd);
    reqs_.resize(limit_reqs);
    report(wall);
    return 0;
}

double percentile(const std::vector<std::uint64_t>& sorted, double q) {
    if (sorted.empty())
        return 0;
    // nearest rank
    std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    if (rank < 1)
        rank = 1;
    return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

void client::report(std::uint64_t wall_ns) {
    std::vector<std::uint64_t> lat;
    lat.reserve(reqs_.size());
    double sum = 0;
    for (std::size_t i = 0; i < reqs_.size(); ++i) {
        if (verb_of_[i] == no_reply)
            continue;
        lat.push_back(latency_[i]);
        sum += static_cast<double>(latency_[i]);
    }
    std::sort(lat.begin(), lat.end());
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    double wall = static_cast<double>(wall_ns) / 1e9;
    std::printf("target=%s\n", opt_.target.c_str());
    std::printf("connections=%d\n", opt_.connections);
    std::printf("requests=%zu\n", reqs_.size());
    std::printf("completed=%zu\n", lat.size());
    std::printf("failed=%zu\n", failed_);
    std::printf("reconnects=%zu\n", reconnects_);
    std::printf("wall_seconds=%.6f\n", wall);
    std::printf("requests_per_second=%.1f\n",
                wall > 0 ? static_cast<double>(lat.size()) / wall : 0.0);
    std::printf("latency_us_mean=%.1f\n",
                lat.empty() ? 0.0 : sum / 1000.0 / static_cast<double>(lat.size()));
    std::printf("latency_us_p50=%.1f\n", percentile(lat, 0.50));
    std::printf("latency_us_p90=%.1f\n", percentile(lat, 0.90));
    std::printf("latency_us_p99=%.1f\n", percentile(lat, 0.99));
    std::printf("latency_us_p999=%.1f\n", percentile(lat, 0.999));
    std::printf("latency_us_max=%.1f\n",
                lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1000.0);
    std::printf("client_cpu_seconds=%.3f\n", cpu);
    for (std::size_t i = 0; i < verbs_.size(); ++i)
        std::printf("action.%s=%zu\n", verbs_[i].c_str(), verb_counts_[i]);
    for (std::size_t i = 0; i < verbs_.size(); ++i)
        std::printf("example.%s=%s\n", verbs_[i].c_str(), examples_[i].c_str());
    if (!opt_.replies.empty()) {
        FILE* f = std::fopen(opt_.replies.c_str(), "w");
        if (!f)
            die("cannot write %s", opt_.replies.c_str());
        for (std::size_t i = 0; i < reqs_.size(); ++i) {
            if (verb_of_[i] == no_reply)
                std::fprintf(f, "-\t0\n");
            else
                std::fprintf(f, "%s\t%.1f\n", verbs_[verb_of_[i]].c_str(),
                             static_cast<double>(latency_[i]) / 1000.0);
        }
        if (std::fclose(f) != 0)
            die("cannot write %s", opt_.replies.c_str());
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    options o = parse_args(argc, argv);
    std::string data = read_file(o.input);
    std::vector<request> reqs;
    std::vector<transaction> txns;
    split_input(data, reqs, txns);
    if (reqs.empty())
        die("no requests in %s", o.input.c_str());
    client c(o, std::move(data), std::move(reqs), std::move(txns));
    return c.run();
}
