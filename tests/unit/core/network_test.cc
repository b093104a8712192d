// SPDX-License-Identifier: Apache-2.0
#include "lib/core/network.hh"

#include <catch2/catch.hpp>

#include "lib/core/address.hh"

using namespace vhostmail;

TEST_CASE("network: a client's network") {
    CHECK(client_network("198.51.100.77", 24, 64) == "198.51.100.0/24");
    CHECK(client_network("198.51.100.77", 32, 64) == "198.51.100.77/32");
    CHECK(client_network("2001:db8:1:2:3:4:5:6", 24, 64) == "2001:db8:1:2::/64");
    CHECK(client_network("::ffff:192.0.2.9", 24, 64) == "192.0.2.0/24");
    CHECK(client_network("unknown", 24, 64) == std::nullopt);
    CHECK(client_network("", 24, 64) == std::nullopt);
    CHECK(client_network("1.2.3.4/8", 24, 64) == std::nullopt);
}

TEST_CASE("network: one counting key per client, an IPv6 client by its /64") {
    CHECK(client_counting_key("192.0.2.7") == "192.0.2.7");
    CHECK(client_counting_key("::ffff:192.0.2.7") == "192.0.2.7");
    // Every address of one /64 is one client; the next /64 is another.
    CHECK(client_counting_key("2001:db8:1:2::1") == "2001:db8:1:2::/64");
    CHECK(client_counting_key("2001:DB8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64");
    CHECK(client_counting_key("2001:db8:1:3::1") == "2001:db8:1:3::/64");
    CHECK(client_counting_key("") == "");
    CHECK(client_counting_key(" UID:1000 ") == "uid:1000");
}

TEST_CASE("address: one counting key per login, whatever its case and extension") {
    CHECK(address_counting_key("joe@example.com", "+") == "joe@example.com");
    CHECK(address_counting_key("Joe+x@Example.COM", "+") == "joe@example.com");
    CHECK(address_counting_key("JOE+other+more@example.com", "+") == "joe@example.com");
    CHECK(address_counting_key("joe-x@example.com", "+-") == "joe@example.com");
    CHECK(address_counting_key("joe+x@example.com", "") == "joe+x@example.com");
    CHECK(address_counting_key("postmaster@example.com", "+") == "postmaster@example.com");
    CHECK(address_counting_key(" Not An Address ", "+") == "not an address");
}
