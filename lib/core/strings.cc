// SPDX-License-Identifier: Apache-2.0
#include "lib/core/strings.hh"

#include "lib/core/encoding.hh"

namespace vhostmail {

namespace {
char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    ascii_lower_in_place(out);
    return out;
}

void ascii_lower_in_place(std::string& s) {
    for (char& c : s) {
        c = lower(c);
    }
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    const auto ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) {
        return {};
    }
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(std::string_view s, std::string_view separators) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        auto b = s.find_first_not_of(separators, i);
        if (b == std::string_view::npos) {
            break;
        }
        auto e = s.find_first_of(separators, b);
        if (e == std::string_view::npos) {
            e = s.size();
        }
        out.emplace_back(s.substr(b, e - b));
        i = e;
    }
    return out;
}

std::string printable(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            c = '?';
        }
    }
    return out;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool ends_with_icase(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

size_t utf8_sequence_length(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = byte(i);
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b < 0x80) {
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        if (b == 0xe0)
            lo = 0xa0;
        if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        if (b == 0xf0)
            lo = 0x90;
        if (b == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
            return 0;
        }
    }
    return n;
}

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_sequence_length(s, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

uint64_t stable_hash(std::string_view s) {
    uint64_t h = 14695981039346656037ull;
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return h;
}

std::string storable_key(std::string_view s, size_t max) {
    if (s.size() <= max && valid_utf8(s)) {
        return std::string(s);
    }
    uint64_t h = stable_hash(s);
    std::string out = "#";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += hex_digit(static_cast<unsigned>(h >> shift));
    }
    return out;
}

std::string log_field(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (unsigned char c : value) {
        if (c <= 0x20 || c == 0x7f ||
            std::string_view("\"\\=,;<>[]").find(static_cast<char>(c)) != std::string_view::npos) {
            out += "\\x";
            out += hex_digit(c >> 4);
            out += hex_digit(c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace vhostmail
