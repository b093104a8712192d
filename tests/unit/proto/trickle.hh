// SPDX-License-Identifier: Apache-2.0
// trickle.hh - checks that an incremental parser gives the same answer however its input is split
// (Dovecot's "trickle stream" tests): fed one byte more per call, it must say need_more until the
// message is complete, and from then on the same answer as with the whole buffer.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace vhostmail::proto::test {

// What a parse returned, flattened so that results of different codecs compare the same way.
struct outcome {
    enum class kind { need_more, value, error };
    kind what = kind::need_more;
    size_t consumed = 0;
    std::string value;  // payload or decoded key
    std::string error;
    bool fatal = false;

    bool operator==(const outcome&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const outcome& o) {
    static constexpr const char* names[] = {"need_more", "value", "error"};
    return os << names[static_cast<int>(o.what)] << " consumed=" << o.consumed << " value=\""
              << o.value << "\" error=\"" << o.error << "\" fatal=" << o.fatal;
}

// Feeds input[0..k) for every k and checks need_more up to the point where `whole` (the result
// for the complete input) is decided, and `whole` from there on. `parse` maps a buffer to an
// outcome. Messages that are decided by their last byte (values, non-fatal errors) must be
// decided exactly at `consumed`.
template <typename Parse>
void check_trickle(std::string_view input, const outcome& whole, Parse parse) {
    bool decided = false;
    for (size_t k = 0; k <= input.size(); ++k) {
        const outcome got = parse(input.substr(0, k));
        CAPTURE(k, got);
        if (!decided && got.what != outcome::kind::need_more) {
            decided = true;
            if (whole.what == outcome::kind::value ||
                (whole.what == outcome::kind::error && !whole.fatal)) {
                CHECK(k == whole.consumed);
            }
        }
        if (decided) {
            CHECK(got == whole);
        } else {
            CHECK(got.what == outcome::kind::need_more);
        }
    }
    CHECK(decided == (whole.what != outcome::kind::need_more));
    // Whatever follows a decided message does not change the answer.
    if (decided) {
        std::string extended(input);
        extended += "5:xx\n,\r";
        CHECK(parse(extended) == whole);
    }
}

}  // namespace vhostmail::proto::test
