// SPDX-License-Identifier: Apache-2.0
// lmtp_data.hh - decoder of the DATA section of SMTP/LMTP: removes dot-stuffing, finds the
// terminating "." line, and normalizes line ends to LF (Maildir files use LF). Pure, incremental.
// Wire (RFC 5321 4.5.2): lines end in CRLF; a line starting with "." had one more "." prepended
// by the client; a line that is exactly "." ends the data. A bare LF is taken as a line end too,
// a CR not followed by LF is kept as data.
// Limit: at most `max_size` decoded bytes are kept; beyond that the decoder still consumes the
// input up to the terminator (so the session stays in sync) and reports too_big.
// Thread safety: one decoder per transaction.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vhostmail::proto {

class data_decoder {
public:
    explicit data_decoder(size_t max_size) : max_size_(max_size) {}

    // Consumes bytes from the front of `in`, appending decoded bytes to `out`. Returns the
    // number of bytes consumed: all of `in` unless the terminator was reached (then done()).
    size_t feed(std::string_view in, std::string& out);

    bool done() const { return state_ == state::done; }
    bool too_big() const { return too_big_; }
    size_t decoded_size() const { return size_; }

private:
    enum class state { line_start, in_line, saw_cr, dot, dot_cr, done };
    void emit(char c, std::string& out);

    size_t max_size_;
    size_t size_ = 0;
    bool too_big_ = false;
    state state_ = state::line_start;
};

// Pure helper for tests and the pipe front end: dot-stuffs LF text into CRLF wire form ending in
// ".\r\n" (what an LMTP client sends).
std::string dot_stuff(std::string_view lf_text);

}  // namespace vhostmail::proto
