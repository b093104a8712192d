// SPDX-License-Identifier: Apache-2.0
#include "lib/os/large_allocator.hh"

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using vhostmail::os::large_allocator;

TEST_CASE("large allocations are huge-page aligned, usable to their end and freed", "[large]") {
    constexpr size_t mib = size_t{1} << 20;
    for (size_t bytes : {size_t{1}, mib, 2 * mib - 1, 2 * mib, 2 * mib + 1, 5 * mib + 3}) {
        large_allocator<char> a;
        char* p = a.allocate(bytes);
        REQUIRE(p != nullptr);
        if (bytes >= 2 * mib) {
            CHECK(reinterpret_cast<uintptr_t>(p) % (2 * mib) == 0);
        }
        p[0] = 'a';
        p[bytes - 1] = 'z';  // under ASan, a short mapping or block would be caught here
        CHECK((bytes == 1 || p[0] == 'a'));
        CHECK(p[bytes - 1] == 'z');
        a.deallocate(p, bytes);
    }
}

TEST_CASE("containers grow across the huge-page threshold with their contents", "[large]") {
    std::vector<uint64_t, large_allocator<uint64_t>> numbers;
    for (uint64_t i = 0; i < 1'000'000; ++i) {  // 8 MB: several moves from small to mapped
        numbers.push_back(i * 3);
    }
    bool kept = true;
    for (uint64_t i = 0; i < numbers.size(); ++i) {
        kept = kept && numbers[i] == i * 3;
    }
    CHECK(kept);
    std::basic_string<char, std::char_traits<char>, large_allocator<char>> text;
    for (int i = 0; i < 300'000; ++i) {
        text += "0123456789";
    }
    CHECK(text.size() == 3'000'000);
    CHECK(text.substr(2'999'990) == "0123456789");
    decltype(text)().swap(text);
    CHECK(text.capacity() < 64);
}
