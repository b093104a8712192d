// SPDX-License-Identifier: Apache-2.0
#include "lib/os/program_wire.hh"

namespace vhostmail::os {

namespace {

constexpr std::string_view request_magic = "VHR1";
constexpr std::string_view result_magic = "VHS1";
constexpr uint8_t flag_command_user = 1;
constexpr uint8_t flag_self = 2;

template <typename T>
void put(std::string& out, T v) {
    for (size_t i = 0; i < sizeof(T); ++i) {
        out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
    }
}

class reader {
public:
    explicit reader(std::string_view b) : b_(b) {}

    template <typename T>
    std::optional<T> get() {
        if (b_.size() < sizeof(T)) {
            return std::nullopt;
        }
        uint64_t v = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            v |= static_cast<uint64_t>(static_cast<unsigned char>(b_[i])) << (8 * i);
        }
        b_.remove_prefix(sizeof(T));
        return static_cast<T>(v);
    }

    std::optional<std::string_view> bytes(size_t n) {
        if (b_.size() < n) {
            return std::nullopt;
        }
        auto out = b_.substr(0, n);
        b_.remove_prefix(n);
        return out;
    }

    // A string of at most `max` bytes without NUL (it becomes a C string).
    std::optional<std::string> text(size_t max) {
        auto n = get<uint32_t>();
        if (!n || *n > max) {
            return std::nullopt;
        }
        auto s = bytes(*n);
        if (!s || s->find('\0') != std::string_view::npos) {
            return std::nullopt;
        }
        return std::string(*s);
    }

    bool done() const { return b_.empty(); }

private:
    std::string_view b_;
};

void put_text(std::string& out, std::string_view s) {
    put(out, static_cast<uint32_t>(s.size()));
    out += s;
}

}  // namespace

std::string encode_program_request(const program_request& r) {
    std::string out(request_magic);
    put(out, r.time_limit_ms);
    put(out, static_cast<uint8_t>((r.as_command_user ? flag_command_user : 0) |
                                  (r.may_run_as_self ? flag_self : 0)));
    put(out, r.memory_limit);
    put(out, r.file_size_limit);
    put(out, r.process_limit);
    put(out, static_cast<uint16_t>(r.argv.size()));
    put(out, static_cast<uint16_t>(r.env.size()));
    for (const auto& a : r.argv) {
        put_text(out, a);
    }
    for (const auto& e : r.env) {
        put_text(out, e);
    }
    return out;
}

std::optional<program_request> decode_program_request(std::string_view bytes) {
    if (bytes.size() > max_program_request) {
        return std::nullopt;
    }
    reader in(bytes);
    auto magic = in.bytes(request_magic.size());
    if (!magic || *magic != request_magic) {
        return std::nullopt;
    }
    program_request r;
    auto time_limit = in.get<uint32_t>();
    auto flags = in.get<uint8_t>();
    auto memory = in.get<uint64_t>();
    auto file_size = in.get<uint64_t>();
    auto processes = in.get<uint32_t>();
    auto argc = in.get<uint16_t>();
    auto envc = in.get<uint16_t>();
    if (!time_limit || !flags || !memory || !file_size || !processes || !argc || !envc ||
        (*flags & ~(flag_command_user | flag_self)) != 0 || *argc == 0 ||
        *argc > max_program_args || *envc > max_program_env) {
        return std::nullopt;
    }
    r.time_limit_ms = *time_limit;
    r.as_command_user = (*flags & flag_command_user) != 0;
    r.may_run_as_self = (*flags & flag_self) != 0;
    r.memory_limit = *memory;
    r.file_size_limit = *file_size;
    r.process_limit = *processes;
    for (unsigned i = 0; i < *argc + *envc; ++i) {
        auto s = in.text(max_program_string);
        if (!s) {
            return std::nullopt;
        }
        (i < *argc ? r.argv : r.env).push_back(std::move(*s));
    }
    if (!in.done() || r.argv.front().empty() || r.argv.front().front() != '/') {
        return std::nullopt;
    }
    for (const auto& e : r.env) {
        if (e.find('=') == std::string::npos || e.front() == '=') {
            return std::nullopt;
        }
    }
    return r;
}

std::string encode_program_result(const program_result& r) {
    std::string out(result_magic);
    put(out, static_cast<uint8_t>(r.what));
    put(out, static_cast<uint32_t>(r.status));
    std::string_view error(r.error);
    error = error.substr(0, max_program_error);
    put(out, static_cast<uint16_t>(error.size()));
    out += error;
    return out;
}

std::optional<program_result> decode_program_result(std::string_view bytes) {
    reader in(bytes);
    auto magic = in.bytes(result_magic.size());
    auto what = in.get<uint8_t>();
    auto status = in.get<uint32_t>();
    auto length = in.get<uint16_t>();
    if (!magic || *magic != result_magic || !what || !status || !length ||
        *what > static_cast<uint8_t>(program_result::kind::failed) || *length > max_program_error) {
        return std::nullopt;
    }
    auto error = in.bytes(*length);
    if (!error || !in.done()) {
        return std::nullopt;
    }
    program_result r;
    r.what = static_cast<program_result::kind>(*what);
    r.status = static_cast<int>(static_cast<int32_t>(*status));
    r.error = std::string(*error);
    return r;
}

}  // namespace vhostmail::os
