// SPDX-License-Identifier: Apache-2.0
// milter_client - a lean load generator for bench/milter: speaks the MTA side of the milter
// protocol the way Postfix's smtpd does, or SMTP with AUTH PLAIN (end to end through Postfix).
//
//   milter_client --protocol milter --target unix:PATH|inet:HOST:PORT --message FILE
//                 [--sessions K] [--seconds S | --count N] [--per-connection M]
//                 [--login LOGIN] [--mail-from ADDR] [--rcpt ADDR] [--timeout SECONDS]
//                 [--dump FILE]
//   milter_client --protocol smtp --target inet:HOST:PORT --message FILE --login USER
//                 --password PW [same options]
//
// MESSAGE: one RFC 5322 message (LF or CRLF line ends), read before the clock starts.
//
// MILTER: K connections at once, each driven by one epoll thread through the steps Postfix 3.7
// sends (milter8.c): OPTNEG (protocol 6, every action and step offered, as Postfix does), then
// per connection CONNECT and HELO, per message MAIL, RCPT, DATA, each header, EOH, the body in
// chunks of at most 65535 bytes with CRLF line ends, EOM; QUIT after M messages (default 1: a
// submission client sends one message per SMTP session, so Postfix opens one milter connection
// per message). Steps the milter negotiated away (SMFIP_NO*) are not sent; a reply is awaited
// only where the milter did not negotiate SMFIP_NR_* for that step, as Postfix does. Macros are
// Postfix's defaults (milter_*_macros: j {daemon_name} v _ at CONNECT; i {auth_type}
// {auth_authen} {mail_addr} at MAIL; i {rcpt_addr} at RCPT; i at DATA, EOH, EOM), or the lists
// the milter asked for with SMFIF_SETSYMLIST; like Postfix, a MACRO packet goes before every
// command, also before each header (the end-of-header list) and body chunk (the end-of-message
// list) and before commands the milter negotiated away. Header values are what follows the colon
// (SMFIP_HDR_LEADSPC; without it the leading blanks are dropped, as Postfix does), folded lines
// joined with LF. Every message gets its own queue ID ("i").
// Packets that need no reply are written together with the next one that does: the milter reads
// the same bytes (libmilter reads every packet by itself anyway) and the client saves syscalls.
// A reply other than "continue" before EOM ends that message (as in Postfix); SMFIR_SKIP in the
// body jumps to EOM.
//
// SMTP: K connections at once; per connection banner, EHLO, AUTH PLAIN (when --login), then per
// message MAIL FROM, RCPT TO and DATA pipelined (RFC 2920), the message dot-stuffed, "."; QUIT
// after M messages (default 1, like a mail program).
//
// RUN: --seconds S: every connection starts messages until S seconds have passed, then finishes
// the one in flight; --count N: N messages in all. Rate = messages finished / time from the start
// to the last finish.
//
// OUTPUT (stdout), one "key=value" per line: messages, seconds, rate, connections,
// latency_us_{p50,p90,p99,max}, client_cpu_us (user+system of this process while measuring),
// outcome.WHAT=count (milter: "signed" = EOM accepted after at least one DKIM-Signature
// insertion; "eom-a" = EOM accepted, nothing inserted; "mail-a" = accepted at MAIL, ...; SMTP:
// "data-250", "auth-535", ...), example.WHAT=first reply text (or inserted header) of each
// outcome, and the negotiated actions/steps of the first milter connection. --dump FILE writes
// the header fields inserted into the first signed message, as Postfix would write them
// ("Name:value", CRLF), so that the caller can verify the signature. Exit status 1 when
// the run could not be done (connection refused, protocol error, --timeout without progress).
//
// No dependencies beyond libc and libstdc++: g++ -O2 -o milter_client milter_client.cc

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <string_view>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "milter_client: %s\n", what.c_str());
    std::exit(1);
}

std::uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

double cpu_us() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

struct options {
    std::string protocol = "milter";
    std::string target, message;
    std::string login, password;
    std::string mail_from = "sender@example.net", rcpt = "friend@example.net";
    std::string dump;  // the first signed message's inserted fields go there
    int sessions = 1;
    double seconds = 0;
    long long count = 0;
    int per_connection = 1;
    double timeout = 30;
};

void usage() {
    std::fprintf(stderr,
                 "usage: milter_client --protocol milter|smtp --target unix:PATH|inet:HOST:PORT\n"
                 "         --message FILE [--sessions K] [--seconds S | --count N]\n"
                 "         [--per-connection M] [--login L] [--password P] [--mail-from A]\n"
                 "         [--rcpt A] [--timeout SECONDS] [--dump FILE]\n");
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
        if (a == "--protocol")
            o.protocol = value();
        else if (a == "--target")
            o.target = value();
        else if (a == "--message")
            o.message = value();
        else if (a == "--login")
            o.login = value();
        else if (a == "--password")
            o.password = value();
        else if (a == "--mail-from")
            o.mail_from = value();
        else if (a == "--rcpt")
            o.rcpt = value();
        else if (a == "--sessions")
            o.sessions = std::atoi(value());
        else if (a == "--seconds")
            o.seconds = std::atof(value());
        else if (a == "--count")
            o.count = std::atoll(value());
        else if (a == "--per-connection")
            o.per_connection = std::atoi(value());
        else if (a == "--timeout")
            o.timeout = std::atof(value());
        else if (a == "--dump")
            o.dump = value();
        else
            usage();
    }
    if (o.target.empty() || o.message.empty() || o.sessions < 1 || o.per_connection < 1 ||
        (o.seconds <= 0) == (o.count <= 0) || (o.protocol != "milter" && o.protocol != "smtp"))
        usage();
    return o;
}

std::string read_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        die("cannot read " + path + ": " + std::strerror(errno));
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    std::fclose(f);
    return out;
}

// ------------------------------------------------------------------------------------------
// sockets

struct address {
    sockaddr_storage sa{};
    socklen_t len = 0;
};

address resolve(const std::string& target) {
    address a;
    if (target.rfind("unix:", 0) == 0) {
        auto* un = reinterpret_cast<sockaddr_un*>(&a.sa);
        std::string path = target.substr(5);
        if (path.size() >= sizeof un->sun_path)
            die("socket path too long");
        un->sun_family = AF_UNIX;
        std::memcpy(un->sun_path, path.c_str(), path.size() + 1);
        a.len = sizeof(sockaddr_un);
        return a;
    }
    if (target.rfind("inet:", 0) != 0)
        die("target must be unix:PATH or inet:HOST:PORT");
    std::string rest = target.substr(5);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos)
        die("inet:HOST:PORT expected");
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(rest.substr(0, colon).c_str(), rest.substr(colon + 1).c_str(), &hints, &res) !=
            0 ||
        !res)
        die("cannot resolve " + rest);
    std::memcpy(&a.sa, res->ai_addr, res->ai_addrlen);
    a.len = res->ai_addrlen;
    freeaddrinfo(res);
    return a;
}

int open_socket(const address& a) {
    int fd = ::socket(a.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(std::string("socket: ") + std::strerror(errno));
    if (a.sa.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.sa), a.len) != 0 &&
        errno != EINPROGRESS && errno != EAGAIN)
        die(std::string("connect: ") + std::strerror(errno));
    return fd;
}

// ------------------------------------------------------------------------------------------
// the message

struct header {
    std::string name, value;  // value: all after the colon, folds joined with LF, no final EOL
};

struct message {
    std::vector<header> headers;
    std::string body_crlf;  // the body with CRLF line ends
    std::string smtp_data;  // the whole message, CRLF, dot-stuffed, ended by ".\r\n"
};

message parse_message(const std::string& raw) {
    // normalise to lines without their ends
    std::vector<std::string_view> lines;
    std::string_view all(raw);
    size_t pos = 0;
    while (pos < all.size()) {
        size_t nl = all.find('\n', pos);
        size_t end = nl == std::string_view::npos ? all.size() : nl;
        size_t stop = end > pos && all[end - 1] == '\r' ? end - 1 : end;
        lines.push_back(all.substr(pos, stop - pos));
        pos = nl == std::string_view::npos ? all.size() : nl + 1;
    }
    message m;
    size_t i = 0;
    for (; i < lines.size() && !lines[i].empty(); ++i) {
        std::string_view l = lines[i];
        if ((l[0] == ' ' || l[0] == '\t') && !m.headers.empty()) {
            m.headers.back().value += "\n";
            m.headers.back().value += l;
            continue;
        }
        auto colon = l.find(':');
        if (colon == std::string_view::npos)
            die("header line without a colon");
        m.headers.push_back({std::string(l.substr(0, colon)), std::string(l.substr(colon + 1))});
    }
    for (size_t j = i + 1; j < lines.size(); ++j) {
        m.body_crlf += lines[j];
        m.body_crlf += "\r\n";
    }
    for (size_t j = 0; j < lines.size(); ++j) {
        if (!lines[j].empty() && lines[j][0] == '.')
            m.smtp_data += '.';
        m.smtp_data += lines[j];
        m.smtp_data += "\r\n";
    }
    m.smtp_data += ".\r\n";
    return m;
}

// ------------------------------------------------------------------------------------------
// milter protocol (libmilter's mfdef.h)

constexpr std::uint32_t SMFIF_ALL = 0x1FF;
constexpr std::uint32_t SMFIP_ALL = 0x1FFFFF;

enum : std::uint32_t {
    NOCONNECT = 0x1,
    NOHELO = 0x2,
    NOMAIL = 0x4,
    NORCPT = 0x8,
    NOBODY = 0x10,
    NOHDRS = 0x20,
    NOEOH = 0x40,
    NR_HDR = 0x80,
    NOUNKNOWN = 0x100,
    NODATA = 0x200,
    SKIP = 0x400,
    RCPT_REJ = 0x800,
    NR_CONN = 0x1000,
    NR_HELO = 0x2000,
    NR_MAIL = 0x4000,
    NR_RCPT = 0x8000,
    NR_DATA = 0x10000,
    NR_UNKN = 0x20000,
    NR_EOH = 0x40000,
    NR_BODY = 0x80000,
    HDR_LEADSPC = 0x100000
};

constexpr size_t max_chunk = 65535;
constexpr size_t qid_len = 10;

void put32(std::string& out, std::uint32_t v) {
    char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.append(b, 4);
}

std::uint32_t get32(const char* p) {
    auto u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t(u[0]) << 24) | (std::uint32_t(u[1]) << 16) | (std::uint32_t(u[2]) << 8) |
           u[3];
}

// One packet appended to out; the offsets of the queue-ID placeholder in it go to qids.
void packet(std::string& out, char cmd, const std::string& data) {
    put32(out, static_cast<std::uint32_t>(data.size() + 1));
    out += cmd;
    out += data;
}

const std::string qid_placeholder(qid_len, '#');

struct exchange {
    std::string bytes;         // packets to write
    std::vector<size_t> qids;  // where the queue ID goes in bytes

    enum { reply, eom, none } expect = reply;

    std::string stage;  // for outcome names
    bool body = false;  // a body exchange: SMFIR_SKIP jumps to the EOM one
};

struct script {
    std::string key;
    std::vector<exchange> connect;  // CONNECT, HELO (once per connection) that await a reply
    std::string prefix;             // CONNECT, HELO that do not: sent with the first MAIL
    std::vector<exchange> msg;      // MAIL ... EOM
    size_t eom_index = 0;
};

struct macro_values {
    std::map<std::string, std::string> v;
};

// Postfix 3.7's default milter_*_macros, by stage letter.
const std::map<char, std::vector<std::string>> postfix_macros = {
    {'C', {"j", "{daemon_name}", "{daemon_addr}", "v", "_"}},
    {'H', {"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"}},
    {'M',
     {"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}",
      "{mail_mailer}"}},
    {'R', {"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"}},
    {'T', {"i"}},
    {'N', {"i"}},
    {'E', {"i"}},
};

struct negotiated {
    std::uint32_t version = 0, actions = 0, steps = 0;
    std::map<int, std::vector<std::string>> symlists;  // SMFIM_* stage -> names
};

int smfim_of(char stage) {
    switch (stage) {
        case 'C':
            return 0;
        case 'H':
            return 1;
        case 'M':
            return 2;
        case 'R':
            return 3;
        case 'T':
            return 4;
        case 'E':
            return 5;
        case 'N':
            return 6;
    }
    return -1;
}

// The MACRO packet Postfix sends before a command of `stage` (also when the milter negotiated
// the command itself away, and with no pairs when none of the list has a value), with the
// macros of list_stage: the list the milter asked for, or Postfix's default. Postfix sends the
// end-of-header list before each header and the end-of-message list before each body chunk.
void macros(std::string& out, std::vector<size_t>& qids, char stage, char list_stage,
            const negotiated& n, const macro_values& mv) {
    auto sl = n.symlists.find(smfim_of(list_stage));
    const std::vector<std::string>& names =
        sl != n.symlists.end() ? sl->second : postfix_macros.at(list_stage);
    std::string data(1, stage);
    std::vector<size_t> local_qids;
    for (const auto& name : names) {
        auto it = mv.v.find(name);
        if (it == mv.v.end())
            continue;  // undefined: not sent
        // Postfix knows the queue ID only once the first recipient is accepted
        if (name == "i" && (stage == 'M' || stage == 'R'))
            continue;
        data += name;
        data += '\0';
        if (name == "i")
            local_qids.push_back(data.size());
        data += it->second;
        data += '\0';
    }
    size_t base = out.size() + 5;
    packet(out, 'D', data);
    for (size_t q : local_qids)
        qids.push_back(base + q);
}

script build_script(const negotiated& n, const message& m, const options& o) {
    script s;
    const std::uint32_t st = n.steps;
    macro_values mv;
    mv.v = {{"j", "mx.bench.example"},
            {"{daemon_name}", "mx.bench.example"},
            {"{daemon_addr}", "127.0.0.1"},
            {"v", "Postfix 3.7.11"},
            {"_", "client.example.net [192.0.2.10]"},
            {"i", qid_placeholder},
            {"{mail_addr}", o.mail_from},
            {"{rcpt_addr}", o.rcpt}};
    if (!o.login.empty()) {
        mv.v["{auth_type}"] = "PLAIN";
        mv.v["{auth_authen}"] = o.login;
    }
    auto add = [&](std::vector<exchange>& list, exchange e, bool wants_reply) {
        // coalesce with the previous exchange when that one expects no reply
        if (!list.empty() && list.back().expect == exchange::none) {
            exchange& prev = list.back();
            size_t base = prev.bytes.size();
            prev.bytes += e.bytes;
            for (size_t q : e.qids)
                prev.qids.push_back(base + q);
            prev.expect = e.expect;
            prev.stage = e.stage;
            prev.body = e.body;
            if (!wants_reply && e.expect != exchange::eom)
                prev.expect = exchange::none;
            return;
        }
        if (!wants_reply && e.expect != exchange::eom)
            e.expect = exchange::none;
        list.push_back(std::move(e));
    };
    // One command as Postfix's milter8_event() sends it: its macros first, then the command
    // unless the milter negotiated it away (skip_flag), awaiting a reply unless SMFIP_NR_*.
    auto step = [&](std::vector<exchange>& list, char list_stage, char cmd, const std::string& data,
                    const char* stage, std::uint32_t skip_flag, std::uint32_t no_reply_flag,
                    bool is_body = false) {
        exchange e;
        e.stage = stage;
        e.body = is_body;
        macros(e.bytes, e.qids, cmd, list_stage, n, mv);
        if (st & skip_flag) {
            add(list, std::move(e), false);
            return;
        }
        packet(e.bytes, cmd, data);
        add(list, std::move(e), !(st & no_reply_flag));
    };
    {
        std::string d = std::string("client.example.net") + '\0' + '4';
        d += char(41234 >> 8);
        d += char(41234 & 0xff);
        d += std::string("192.0.2.10") + '\0';
        step(s.connect, 'C', 'C', d, "connect", NOCONNECT, NR_CONN);
    }
    step(s.connect, 'H', 'H', std::string("client.example.net") + '\0', "helo", NOHELO, NR_HELO);
    if (!s.connect.empty() && s.connect.back().expect == exchange::none) {
        // nothing to wait for: these packets go out with the connection's first MAIL
        s.prefix = std::move(s.connect.back().bytes);
        s.connect.pop_back();
    }
    step(s.msg, 'M', 'M', "<" + o.mail_from + ">" + '\0', "mail", NOMAIL, NR_MAIL);
    step(s.msg, 'R', 'R', "<" + o.rcpt + ">" + '\0', "rcpt", NORCPT, NR_RCPT);
    step(s.msg, 'T', 'T', "", "data", NODATA, NR_DATA);
    for (const auto& h : m.headers) {
        std::string v = h.value;
        if (!(st & HDR_LEADSPC))
            v.erase(0, v.find_first_not_of(" \t"));
        step(s.msg, 'N', 'L', h.name + '\0' + v + '\0', "header", NOHDRS, NR_HDR);
    }
    step(s.msg, 'N', 'N', "", "eoh", NOEOH, NR_EOH);
    for (size_t at = 0; at < m.body_crlf.size(); at += max_chunk)
        step(s.msg, 'E', 'B', m.body_crlf.substr(at, max_chunk), "body", NOBODY, NR_BODY, true);
    exchange e;
    e.stage = "eom";
    e.expect = exchange::eom;
    macros(e.bytes, e.qids, 'E', 'E', n, mv);
    packet(e.bytes, 'E', "");
    add(s.msg, std::move(e), true);
    s.eom_index = s.msg.size() - 1;
    return s;
}

// ------------------------------------------------------------------------------------------
// the run

struct results {
    long long messages = 0, connections = 0;
    std::vector<std::uint32_t> latencies;
    std::map<std::string, long long> outcomes;
    std::map<std::string, std::string> examples;
    std::uint64_t last_finish = 0;
    negotiated first;
    bool have_first = false;

    void outcome(const std::string& what, const std::string& example) {
        if (outcomes[what]++ == 0)
            examples[what] = example;
    }
};

struct session;

struct engine {
    options o;
    address addr;
    message msg;
    script scr;
    bool have_script = false;
    int epfd = -1;
    std::uint64_t start = 0, deadline_ns = 0;
    long long started = 0;  // messages started
    long long qid_counter = 0;
    bool dumped = false;
    results r;

    bool may_start() const {
        if (o.count > 0)
            return started < o.count;
        return now_ns() < deadline_ns;
    }
};

struct session {
    engine* e;
    int fd = -1;

    enum {
        idle,
        m_negotiate,
        m_connect,
        m_message,
        m_quit,
        s_banner,
        s_ehlo,
        s_auth,
        s_mail,
        s_data,
        s_quit
    } state = idle;

    std::string out;
    size_t out_pos = 0;
    std::string in;
    size_t index = 0;  // exchange index
    int msgs_on_conn = 0;
    std::uint64_t msg_start = 0;
    int inserted = 0;
    std::string inserted_example;
    std::string inserted_fields;  // "Name:value\r\n" each, for --dump
    int smtp_pending = 0;         // pipelined replies still expected (MAIL, RCPT, DATA)
    bool want_out = false;
    std::uint64_t last_activity = 0;
    std::uint64_t serial = 0;  // of the connection: a new one may get the same fd number

    void arm() {
        epoll_event ev{};
        ev.events = EPOLLIN | (out_pos < out.size() ? uint32_t(EPOLLOUT) : 0u);
        ev.data.ptr = this;
        bool w = out_pos < out.size();
        if (w != want_out) {
            want_out = w;
            epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev);
        }
    }

    void send(const std::string& bytes) {
        out.append(bytes);
        flush();
    }

    void flush() {
        while (out_pos < out.size()) {
            ssize_t n = ::write(fd, out.data() + out_pos, out.size() - out_pos);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ENOTCONN)
                    break;
                die(std::string("write: ") + std::strerror(errno));
            }
            out_pos += static_cast<size_t>(n);
        }
        if (out_pos == out.size()) {
            out.clear();
            out_pos = 0;
        }
        arm();
    }

    bool open() {
        if (!e->may_start())
            return false;
        fd = open_socket(e->addr);
        serial = ++e->r.connections;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.ptr = this;
        want_out = false;
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
        msgs_on_conn = 0;
        in.clear();
        ++e->started;  // the connection is started for its first message
        msg_start = now_ns();
        if (e->o.protocol == "milter") {
            std::string d;
            put32(d, 6);
            put32(d, SMFIF_ALL);
            put32(d, SMFIP_ALL);
            std::string p;
            packet(p, 'O', d);
            state = m_negotiate;
            send(p);
        } else {
            state = s_banner;
        }
        return true;
    }

    void close_conn() {
        epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        fd = -1;
        state = idle;
        out.clear();
        out_pos = 0;
        in.clear();
    }

    void finish_message(const std::string& what, const std::string& example) {
        std::uint64_t t = now_ns();
        e->r.latencies.push_back(static_cast<std::uint32_t>((t - msg_start) / 1000));
        e->r.last_finish = t;
        ++e->r.messages;
        e->r.outcome(what, example);
        ++msgs_on_conn;
    }

    // after a message: the next one on this connection, or QUIT and a new connection
    void next() {
        if (msgs_on_conn < e->o.per_connection && e->may_start()) {
            ++e->started;
            msg_start = now_ns();
            if (e->o.protocol == "milter")
                start_milter_message();
            else
                start_smtp_message();
            return;
        }
        if (e->o.protocol == "milter") {
            std::string p;
            packet(p, 'Q', "");
            out.append(p);
            flush();  // best effort; the milter may already be gone
            close_conn();
            open();
        } else {
            state = s_quit;
            send("QUIT\r\n");
        }
    }

    // -- milter ----------------------------------------------------------------------------

    void send_exchange() {
        const exchange& x = e->scr.msg[index];
        if (x.qids.empty()) {
            send(x.bytes);
        } else {
            size_t base = out.size();
            out.append(x.bytes);
            char q[qid_len + 1];
            std::snprintf(q, sizeof q, "%010llX", e->qid_counter);
            for (size_t off : x.qids)
                std::memcpy(&out[base + off], q, qid_len);
            flush();
        }
        if (x.expect == exchange::none) {
            // cannot happen after coalescing except at the very end
            ++index;
            if (index < e->scr.msg.size())
                send_exchange();
        }
    }

    void start_milter_message() {
        ++e->qid_counter;
        state = m_message;
        index = 0;
        inserted = 0;
        inserted_example.clear();
        inserted_fields.clear();
        if (msgs_on_conn == 0)
            out.append(e->scr.prefix);
        send_exchange();
    }

    void start_connect_steps() {
        index = 0;
        if (e->scr.connect.empty()) {
            start_milter_message();
            return;
        }
        state = m_connect;
        send(e->scr.connect[0].bytes);
    }

    void on_negotiated(const char* d, size_t len) {
        if (len < 12)
            die("short OPTNEG reply");
        negotiated n;
        n.version = get32(d);
        n.actions = get32(d + 4);
        n.steps = get32(d + 8);
        size_t p = 12;
        while (p + 4 <= len) {
            int stage = static_cast<int>(get32(d + p));
            p += 4;
            size_t z = p;
            while (z < len && d[z] != '\0')
                ++z;
            std::string names(d + p, z - p);
            p = z + 1;
            std::vector<std::string> list;
            size_t a = 0;
            while (a < names.size()) {
                size_t b = names.find(' ', a);
                if (b == std::string::npos)
                    b = names.size();
                if (b > a)
                    list.push_back(names.substr(a, b - a));
                a = b + 1;
            }
            n.symlists[stage] = list;
        }
        std::string key = std::to_string(n.steps) + "/" + std::to_string(n.actions);
        for (auto& [k, v] : n.symlists) {
            key += "/" + std::to_string(k);
            for (auto& s : v)
                key += " " + s;
        }
        if (!e->r.have_first) {
            e->r.first = n;
            e->r.have_first = true;
        }
        if (!e->have_script || e->scr.key != key) {
            e->scr = build_script(n, e->msg, e->o);
            e->scr.key = key;
            e->have_script = true;
        }
        start_connect_steps();
    }

    void on_milter_packet(char cmd, const char* d, size_t len) {
        if (state == m_negotiate) {
            if (cmd != 'O')
                die(std::string("OPTNEG answered with '") + cmd + "'");
            on_negotiated(d, len);
            return;
        }
        if (cmd == 'p')
            return;  // progress
        if (state == m_connect) {
            if (cmd != 'c') {
                // refused at CONNECT/HELO: counts as a finished message, connection closed
                finish_message(e->scr.connect[index].stage + "-" + cmd, std::string(d, len));
                msgs_on_conn = e->o.per_connection;
                next();
                return;
            }
            if (++index < e->scr.connect.size()) {
                send(e->scr.connect[index].bytes);
            } else {
                start_milter_message();
            }
            return;
        }
        if (state != m_message)
            die(std::string("unexpected packet '") + cmd + "'");
        const exchange& x = e->scr.msg[index];
        if (x.expect == exchange::eom) {
            if (cmd == 'h' || cmd == 'i') {
                // SMFIR_INSHEADER: index(4) name\0 value\0; SMFIR_ADDHEADER: name\0 value\0
                const char* p = d + (cmd == 'i' ? 4 : 0);
                size_t l = len - (cmd == 'i' ? 4 : 0);
                std::string name(p, strnlen(p, l));
                if (!e->o.dump.empty() && name.size() + 1 < l) {
                    std::string v(p + name.size() + 1,
                                  strnlen(p + name.size() + 1, l - name.size() - 1));
                    inserted_fields += name + ":";
                    for (char c : v) {
                        if (c == '\n')
                            inserted_fields += '\r';
                        inserted_fields += c;
                    }
                    inserted_fields += "\r\n";
                }
                if (strncasecmp(name.c_str(), "DKIM-Signature", 14) == 0) {
                    ++inserted;
                    if (inserted_example.empty() && name.size() + 1 < l)
                        inserted_example = std::string(
                            p + name.size() + 1, strnlen(p + name.size() + 1, l - name.size() - 1));
                }
                return;
            }
            if (cmd == 'a' || cmd == 'c') {
                if (inserted > 0 && !e->o.dump.empty() && !e->dumped) {
                    e->dumped = true;
                    FILE* f = std::fopen(e->o.dump.c_str(), "wb");
                    if (!f)
                        die("cannot write " + e->o.dump);
                    std::fwrite(inserted_fields.data(), 1, inserted_fields.size(), f);
                    std::fclose(f);
                }
                if (inserted > 0)
                    finish_message(inserted == 1 ? "signed" : "signed-" + std::to_string(inserted),
                                   inserted_example);
                else
                    finish_message(std::string("eom-") + cmd, "");
            } else if (cmd == 'y' || cmd == 'r' || cmd == 't' || cmd == 'd') {
                finish_message(std::string("eom-") + cmd, std::string(d, strnlen(d, len)));
            } else {
                // other modifications (change header, ...): counted, the final reply follows
                e->r.outcome(std::string("modification-") + cmd, std::string(d, strnlen(d, len)));
                return;
            }
            next();
            return;
        }
        if (cmd == 'c') {
            ++index;
            send_exchange();
            return;
        }
        if (cmd == 's' && x.body) {
            index = e->scr.eom_index;
            send_exchange();
            return;
        }
        // a final answer before EOM: the milter is done with this message
        finish_message(x.stage + "-" + cmd, std::string(d, strnlen(d, len)));
        // Postfix would send ABORT before the next message on this connection
        if (msgs_on_conn < e->o.per_connection && e->may_start()) {
            std::string p;
            packet(p, 'A', "");
            out.append(p);
        }
        next();
    }

    // -- SMTP ------------------------------------------------------------------------------

    void start_smtp_message() {
        state = s_mail;
        smtp_pending = 3;
        send("MAIL FROM:<" + e->o.mail_from + ">\r\nRCPT TO:<" + e->o.rcpt + ">\r\nDATA\r\n");
    }

    static std::string b64(const std::string& s) {
        static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string out;
        size_t i = 0;
        for (; i + 2 < s.size(); i += 3) {
            unsigned v =
                (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 | (unsigned char)s[i + 2];
            out += t[v >> 18];
            out += t[(v >> 12) & 63];
            out += t[(v >> 6) & 63];
            out += t[v & 63];
        }
        if (i < s.size()) {
            unsigned v = (unsigned char)s[i] << 16;
            if (i + 1 < s.size())
                v |= (unsigned char)s[i + 1] << 8;
            out += t[v >> 18];
            out += t[(v >> 12) & 63];
            out += i + 1 < s.size() ? t[(v >> 6) & 63] : '=';
            out += '=';
        }
        return out;
    }

    void smtp_failed(const std::string& stage, const std::string& line) {
        finish_message(stage + "-" + line.substr(0, 3), line);
        msgs_on_conn = e->o.per_connection;
        state = s_quit;
        send("QUIT\r\n");
    }

    void on_smtp_reply(const std::string& line) {  // the last line of a reply
        int code = std::atoi(line.substr(0, 3).c_str());
        switch (state) {
            case s_banner:
                if (code != 220)
                    return smtp_failed("banner", line);
                state = s_ehlo;
                send("EHLO client.example.net\r\n");
                return;
            case s_ehlo:
                if (code != 250)
                    return smtp_failed("ehlo", line);
                if (!e->o.login.empty()) {
                    state = s_auth;
                    send("AUTH PLAIN " +
                         b64(std::string(1, '\0') + e->o.login + '\0' + e->o.password) + "\r\n");
                    return;
                }
                start_smtp_message();
                return;
            case s_auth:
                if (code != 235)
                    return smtp_failed("auth", line);
                start_smtp_message();
                return;
            case s_mail:
                --smtp_pending;
                if (smtp_pending == 2 && code != 250) {  // MAIL refused: RCPT, DATA fail too
                    smtp_pending = 0;
                    return smtp_failed("mail", line);
                }
                if (smtp_pending == 1 && code != 250 && code != 251) {
                    smtp_pending = 0;
                    return smtp_failed("rcpt", line);
                }
                if (smtp_pending == 0) {
                    if (code != 354)
                        return smtp_failed("data", line);
                    state = s_data;
                    send(e->msg.smtp_data);
                }
                return;
            case s_data:
                finish_message("data-" + line.substr(0, 3), line);
                next();
                return;
            case s_quit:
                close_conn();
                open();
                return;
            default:
                die("SMTP reply in an unexpected state: " + line);
        }
    }

    void smtp_lines() {
        size_t pos = 0;
        while (true) {
            size_t nl = in.find('\n', pos);
            if (nl == std::string::npos)
                break;
            std::string line = in.substr(pos, nl - pos);
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            pos = nl + 1;
            if (line.size() >= 4 && line[3] == '-')
                continue;  // a continued reply
            if (state == idle)
                break;
            std::uint64_t conn = serial;
            on_smtp_reply(line);
            if (fd < 0 || state == idle || serial != conn)
                return;  // in was cleared
        }
        in.erase(0, pos);
    }

    // -- events ----------------------------------------------------------------------------

    void on_event(std::uint32_t events) {
        last_activity = now_ns();
        if (events & EPOLLOUT)
            flush();
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            return;
        char buf[65536];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            die(std::string("read: ") + std::strerror(errno));
        }
        if (n == 0) {
            if (state == s_quit || state == m_quit) {
                close_conn();
                open();
                return;
            }
            die("the server closed a connection in state " + std::to_string(state) + " after " +
                std::to_string(e->r.messages) + " messages");
        }
        in.append(buf, static_cast<size_t>(n));
        if (e->o.protocol == "smtp") {
            smtp_lines();
            return;
        }
        size_t pos = 0;
        while (in.size() - pos >= 5) {
            std::uint32_t len = get32(in.data() + pos);
            if (len < 1)
                die("a milter packet of length 0");
            if (in.size() - pos - 4 < len)
                break;
            std::uint64_t conn = serial;
            on_milter_packet(in[pos + 4], in.data() + pos + 5, len - 1);
            if (fd < 0 || serial != conn)
                return;  // reconnected: in was cleared
            pos += 4 + len;
        }
        in.erase(0, pos);
    }
};

std::uint32_t pct(std::vector<std::uint32_t>& v, double p) {
    if (v.empty())
        return 0;
    size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::string clean(const std::string& s) {
    std::string out;
    for (char c : s)
        out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c == '\0' ? ' ' : c);
    if (out.size() > 200)
        out = out.substr(0, 200) + "...";
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    engine e;
    e.o = parse_args(argc, argv);
    e.addr = resolve(e.o.target);
    e.msg = parse_message(read_file(e.o.message));
    e.epfd = epoll_create1(EPOLL_CLOEXEC);
    std::vector<session> sessions(static_cast<size_t>(e.o.sessions));
    e.r.latencies.reserve(1 << 20);
    double cpu0 = cpu_us();
    e.start = now_ns();
    e.deadline_ns = e.start + static_cast<std::uint64_t>(e.o.seconds * 1e9);
    int active = 0;
    for (auto& s : sessions) {
        s.e = &e;
        if (s.open())
            ++active;
    }
    epoll_event evs[64];
    std::uint64_t last_progress = now_ns();
    long long last_messages = 0;
    while (true) {
        bool any = false;
        for (auto& s : sessions)
            any |= s.fd >= 0;
        if (!any)
            break;
        int n = epoll_wait(e.epfd, evs, 64, 1000);
        if (n < 0 && errno != EINTR)
            die(std::string("epoll_wait: ") + std::strerror(errno));
        for (int i = 0; i < n; ++i)
            static_cast<session*>(evs[i].data.ptr)->on_event(evs[i].events);
        std::uint64_t t = now_ns();
        if (e.r.messages != last_messages) {
            last_messages = e.r.messages;
            last_progress = t;
        } else if (t - last_progress > static_cast<std::uint64_t>(e.o.timeout * 1e9)) {
            die("no progress for " + std::to_string(e.o.timeout) + " s after " +
                std::to_string(e.r.messages) + " messages");
        }
    }
    double cpu1 = cpu_us();
    double secs = (e.r.last_finish > e.start ? e.r.last_finish - e.start : 1) / 1e9;
    std::sort(e.r.latencies.begin(), e.r.latencies.end());
    std::printf("messages=%lld\nseconds=%.4f\nrate=%.2f\nconnections=%lld\n", e.r.messages, secs,
                e.r.messages / secs, e.r.connections);
    std::printf("latency_us_p50=%u\nlatency_us_p90=%u\nlatency_us_p99=%u\nlatency_us_max=%u\n",
                pct(e.r.latencies, 0.5), pct(e.r.latencies, 0.9), pct(e.r.latencies, 0.99),
                e.r.latencies.empty() ? 0 : e.r.latencies.back());
    std::printf("client_cpu_us=%.0f\n", cpu1 - cpu0);
    for (auto& [k, v] : e.r.outcomes)
        std::printf("outcome.%s=%lld\n", k.c_str(), v);
    for (auto& [k, v] : e.r.examples)
        std::printf("example.%s=%s\n", k.c_str(), clean(v).c_str());
    if (e.r.have_first) {
        std::printf("negotiated_version=%u\nnegotiated_actions=0x%x\nnegotiated_steps=0x%x\n",
                    e.r.first.version, e.r.first.actions, e.r.first.steps);
        for (auto& [k, v] : e.r.first.symlists) {
            std::string names;
            for (auto& s : v)
                names += (names.empty() ? "" : " ") + s;
            std::printf("symlist.%d=%s\n", k, names.c_str());
        }
    }
    return 0;
}
