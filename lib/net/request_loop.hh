// SPDX-License-Identifier: Apache-2.0
// request_loop.hh - the one request loop of the daemons that answer request by request
// (lookupd's socketmap and tcp_table, policyd, authd's Dovecot and saslauthd protocols): parse
// what is buffered (a codec returning proto::parsed), answer it, read more when a request is
// incomplete, and stop when the client leaves, a deadline passes, the server stops, the framing
// is lost, or the answer says so.
//
// Deadlines: idle_timeout between requests (during which the server may close an idle
// connection to make room for a waiting client); request_timeout for a whole request from its
// first byte, however it trickles in, and for writing its reply. The loop itself never logs:
// the answer function sees errors and says what they mean for its protocol.
#pragma once

#include <string.h>

#include <chrono>
#include <optional>
#include <string>

#include "lib/net/connection.hh"

namespace vhostmail::net {

// What a connection carrying passwords reserves for its buffer: a whole request of the largest
// such protocol (Dovecot's 16 KB line) and one read.
inline constexpr size_t secret_buffer_size = 16384 + 4096 + 1024;

struct request_loop_options {
    std::chrono::milliseconds idle_timeout{0};
    std::chrono::milliseconds request_timeout{0};
    size_t read_chunk = 4096;
    bool one_request = false;  // the connection carries one request (saslauthd)
    bool secret = false;       // requests may hold passwords: wipe every byte read once used
};

// `parse(std::string_view buffer)` returns a proto::parsed<R>. `answer(const parsed&)` returns
// the reply to send ("" for none) or nullopt to close the connection without one.
template <typename Parse, typename Answer>
void serve_requests(connection& conn, const request_loop_options& o, Parse parse, Answer answer) {
    std::string buf;
    if (o.secret) {
        buf.reserve(secret_buffer_size);  // growing would free copies we could not wipe
    }
    struct wipe_on_exit {
        std::string& b;
        bool on;
        ~wipe_on_exit() {
            if (on) {
                b.resize(b.capacity());  // what erase() moved out of size() is in here too
                explicit_bzero(b.data(), b.size());
            }
        }
    } wipe{buf, o.secret};
    while (true) {
        auto parsed = parse(std::string_view(buf));
        using kind = typename decltype(parsed)::kind;
        if (parsed.what == kind::need_more) {
            auto idle = o.one_request ? o.request_timeout : o.idle_timeout;
            if (conn.read_request(buf, o.read_chunk, idle, o.request_timeout) != io_status::ok) {
                return;
            }
            continue;
        }
        std::optional<std::string> reply = answer(parsed);
        if (o.secret) {
            // Move the rest to the front, then zero the bytes it vacated: a plain erase would
            // leave a stale copy of them behind the new end.
            size_t rest = buf.size() - parsed.consumed;
            memmove(buf.data(), buf.data() + parsed.consumed, rest);
            explicit_bzero(buf.data() + rest, parsed.consumed);
            buf.resize(rest);
        } else {
            buf.erase(0, parsed.consumed);
        }
        conn.request_done();
        if (!reply) {
            return;
        }
        if (!reply->empty() && conn.write_all(*reply, o.request_timeout) != io_status::ok) {
            return;
        }
        if (parsed.fatal || o.one_request) {
            return;
        }
    }
}

}  // namespace vhostmail::net
