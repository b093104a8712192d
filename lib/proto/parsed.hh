// SPDX-License-Identifier: Apache-2.0
// parsed.hh - what every request codec returns for the front of a receive buffer: nothing yet
// (need more bytes), one request and how many bytes it took, or an error, fatal when the
// framing is lost and the connection must close. One shape for socketmap, tcp_table, the
// policy protocol, saslauthd and Dovecot's auth protocol, so one request loop
// (lib/net/request_loop.hh) serves them all. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

namespace vhostmail::proto {

template <typename Request>
struct parsed {
    enum class kind { need_more, request, error };
    kind what = kind::need_more;
    Request request{};     // kind::request
    size_t consumed = 0;   // bytes of the buffer this result accounts for (request, error)
    std::string error{};   // kind::error: printable, for the reply text and the log
    bool fatal = false;    // kind::error: framing lost, close the connection after replying

    static parsed need_more() { return {}; }

    static parsed ok(Request r, size_t consumed) {
        parsed p;
        p.what = kind::request;
        p.request = std::move(r);
        p.consumed = consumed;
        return p;
    }

    static parsed failure(std::string why, size_t consumed, bool fatal) {
        parsed p;
        p.what = kind::error;
        p.error = std::move(why);
        p.consumed = consumed;
        p.fatal = fatal;
        return p;
    }
};

}  // namespace vhostmail::proto
