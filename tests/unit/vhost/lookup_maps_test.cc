// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/lookup_maps.hh"

#include <catch2/catch.hpp>

#include "tests/support/snapshot_builder.hh"

using namespace vhostmail;
using namespace vhostmail::vhost;

namespace {

std::string ask(test::snapshot_builder& b, map_kind map, std::string_view key) {
    vhost::snapshot_directory dir(b.build());
    auto r = answer(map, key, dir, {});
    switch (r.status) {
        case lookup_status::found:
            REQUIRE_FALSE(r.value.empty());
            return r.value;
        case lookup_status::not_found:
            return "NOTFOUND";
        case lookup_status::temp_fail:
            return "TEMP " + r.reason;
    }
    return "?";
}

}  // namespace

TEST_CASE("map names") {
    CHECK(parse_map_name("aliases") == map_kind::aliases);
    CHECK(parse_map_name("senders") == map_kind::senders);
    CHECK_FALSE(parse_map_name("Aliases"));
    for (size_t k = 0; k < map_kind_count; ++k) {
        auto map = static_cast<map_kind>(k);
        CHECK(parse_map_name(to_string(map)) == map);
    }
    CHECK_FALSE(parse_map_name(""));
}

TEST_CASE("domains map lists enabled domains and domain aliases") {
    auto b = test::spec_example();
    b.domain_alias("blobber.net", "blobber.org");
    b.domain("off.example").enabled = false;
    CHECK(ask(b, map_kind::domains, "blobber.org") == "blobber.org");
    CHECK(ask(b, map_kind::domains, "LALA.com") == "lala.com");
    CHECK(ask(b, map_kind::domains, "blobber.net") == "blobber.org");
    CHECK(ask(b, map_kind::domains, "off.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::domains, "example.com") == "NOTFOUND");
    CHECK(ask(b, map_kind::domains, "bad..name") == "NOTFOUND");
}

TEST_CASE("aliases map answers only what ends somewhere deliverable") {
    auto b = test::spec_example();
    CHECK(ask(b, map_kind::aliases, "john@whopper.nu") == "xandros@blobber.org");
    CHECK(ask(b, map_kind::aliases, "julian@lala.com") == "xandros@blobber.org");
    CHECK(ask(b, map_kind::aliases, "vivita@mail.blobber.org") == "vivita@blobber.org");
    CHECK(ask(b, map_kind::aliases, "nobody@mail.blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::aliases, "karl@blobber.org") == "karl.vovianda@gmail.com");
    CHECK(ask(b, map_kind::aliases, "julian@blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::aliases, "xandros@blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::aliases, "Xandros+x@Blobber.org") == "NOTFOUND");
    b.address("blobber.org", "xandros").forwards = {"copy@example.net"};
    CHECK(ask(b, map_kind::aliases, "xandros@blobber.org") ==
          "xandros@blobber.org,copy@example.net");
    b.domain("cmd.example", "|/usr/bin/handler");
    CHECK(ask(b, map_kind::aliases, "a@cmd.example") == "a@cmd.example");
    b.address("blobber.org", "odd").forwards = {"a b@example.net"};
    CHECK(ask(b, map_kind::aliases, "odd@blobber.org") == "\"a b\"@example.net");
}

TEST_CASE("mailboxes map answers the Maildir of the address itself") {
    auto b = test::spec_example();
    CHECK(ask(b, map_kind::mailboxes, "xandros@blobber.org") == "blobber.org/xandros/");
    CHECK(ask(b, map_kind::mailboxes, "XANDROS+lists@blobber.org") == "blobber.org/xandros/");
    CHECK(ask(b, map_kind::mailboxes, "john@whopper.nu") == "NOTFOUND");
    CHECK(ask(b, map_kind::mailboxes, "karl@blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::mailboxes, "julian@blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::mailboxes, "not-an-address") == "NOTFOUND");
}

TEST_CASE("mailboxes map never hands Postfix a Maildir path the delivery agents would refuse") {
    auto b = test::spec_example();
    b.mailbox("blobber.org", "abs").maildir = "/etc/";
    b.mailbox("blobber.org", "up").maildir = "blobber.org/../../etc/";
    b.mailbox("blobber.org", "nested/cur");  // a '/' in the local part: default path ""
    for (auto key : {"abs@blobber.org", "up@blobber.org", "nested/cur@blobber.org"}) {
        CHECK(ask(b, map_kind::mailboxes, key).starts_with("TEMP Maildir path of"));
    }
}

TEST_CASE("senders map lists the logins that own a sender address") {
    auto b = test::spec_example();
    CHECK(ask(b, map_kind::senders, "xandros@blobber.org") == "xandros@blobber.org");
    CHECK(ask(b, map_kind::senders, "vivita@blobber.org") == "vivita@blobber.org");
    CHECK(ask(b, map_kind::senders, "john@whopper.nu") == "NOTFOUND");
    CHECK(ask(b, map_kind::senders, "karl@blobber.org") == "NOTFOUND");
}

TEST_CASE("srs maps: outside senders rewritten, our own not; only valid SRS reversed") {
    auto b = test::spec_example();
    b.domain_alias("blobber.net", "blobber.org");
    srs::codec codec(srs::settings{.domain = "bounces.example.net", .exclude_domains = {}},
                     {"secret"});
    const std::time_t now = 20794 * std::time_t{86400};
    auto ask_srs = [&](map_kind map, std::string_view key, const srs::codec* c) {
        vhost::snapshot_directory dir(b.build());
        resolve_options options;
        options.srs = c;
        options.now = now;
        auto r = answer(map, key, dir, options);
        return r.status == lookup_status::found       ? r.value
               : r.status == lookup_status::not_found ? std::string("NOTFOUND")
                                                      : "TEMP " + r.reason;
    };
    const std::string rewritten = *codec.forward("someone@sender.example", now);
    CHECK(ask_srs(map_kind::srs_forward, "someone@sender.example", &codec) == rewritten);
    for (const char* ours :
         {"xandros@blobber.org", "nobody@blobber.org", "x@blobber.net", "x@BLOBBER.org",
          "x@bounces.example.net", "", "noat", "@sender.example"}) {
        INFO(ours);
        CHECK(ask_srs(map_kind::srs_forward, ours, &codec) == "NOTFOUND");
    }
    CHECK(ask_srs(map_kind::srs_reverse, rewritten, &codec) == "someone@sender.example");
    b.domain("relayed.example").backup = true;
    CHECK(ask_srs(map_kind::srs_forward, "x@relayed.example", &codec) ==
          *codec.forward("x@relayed.example", now));
    CHECK(ask_srs(map_kind::srs_reverse, "xandros@blobber.org", &codec) == "NOTFOUND");
    std::string forged = rewritten;
    forged[5] = forged[5] == 'A' ? 'B' : 'A';
    CHECK(ask_srs(map_kind::srs_reverse, forged, &codec) == "NOTFOUND");
    // SRS off: both maps find nothing.
    CHECK(ask_srs(map_kind::srs_forward, "someone@sender.example", nullptr) == "NOTFOUND");
    CHECK(ask_srs(map_kind::srs_reverse, rewritten, nullptr) == "NOTFOUND");
    CHECK(parse_map_name("srs_forward") == map_kind::srs_forward);
    CHECK(to_string(map_kind::srs_reverse) == "srs_reverse");
}

TEST_CASE("backup domains: relayed for their known addresses, never delivered here") {
    auto b = test::spec_example();
    auto& backup = b.domain("backup.example");
    backup.backup = true;
    backup.fallback = "";
    backup.transport = "smtp:[primary.example.net]:25";
    b.address("backup.example", "anna").mailbox = true;
    b.address("backup.example", "list").forwards = {"anna@backup.example", "x@elsewhere.example"};
    b.domain_alias("backup.net", "backup.example");
    auto& catchall = b.domain("catchall-backup.example");
    catchall.backup = true;
    catchall.fallback = "@backup.example";
    CHECK(ask(b, map_kind::domains, "backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_domains, "backup.example") == "backup.example");
    CHECK(ask(b, map_kind::relay_domains, "backup.net") == "backup.example");
    CHECK(ask(b, map_kind::relay_domains, "blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_recipients, "anna@backup.example") == "OK");
    CHECK(ask(b, map_kind::relay_recipients, "Anna+tag@Backup.example") == "OK");
    CHECK(ask(b, map_kind::relay_recipients, "list@backup.example") == "OK");
    CHECK(ask(b, map_kind::relay_recipients, "nobody@backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_recipients, "anna@catchall-backup.example") == "OK");
    CHECK(ask(b, map_kind::relay_recipients, "nobody@catchall-backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_recipients, "@backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_recipients, "xandros@blobber.org") == "NOTFOUND");
    // Nothing of a backup domain is delivered or expanded here: the primary does that.
    CHECK(ask(b, map_kind::mailboxes, "anna@backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::aliases, "list@backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::transports, "backup.example") == "smtp:[primary.example.net]:25");
    CHECK(ask(b, map_kind::transports, "backup.net") == "smtp:[primary.example.net]:25");
    b.domain("backup.example").enabled = false;
    CHECK(ask(b, map_kind::relay_domains, "backup.example") == "NOTFOUND");
    CHECK(ask(b, map_kind::relay_recipients, "anna@backup.example") == "NOTFOUND");
}

TEST_CASE("per-domain transports and relayhosts") {
    auto b = test::spec_example();
    b.domain("blobber.org").transport = "lmtp:inet:[10.0.0.5]:24";
    b.domain("blobber.org").relayhost = "[smtp.blobber.net]:587";
    b.domain("lala.com").transport = "smtp:bad host";  // edited in SQL: refused when asked
    CHECK(ask(b, map_kind::transports, "blobber.org") == "lmtp:inet:[10.0.0.5]:24");
    CHECK(ask(b, map_kind::transports, "BLOBBER.ORG") == "lmtp:inet:[10.0.0.5]:24");
    CHECK(ask(b, map_kind::transports, "xandros@blobber.org") == "lmtp:inet:[10.0.0.5]:24");
    CHECK(ask(b, map_kind::transports, "@blobber.org") == "NOTFOUND");
    CHECK(ask(b, map_kind::transports, "whopper.nu") == "NOTFOUND");
    CHECK(ask(b, map_kind::transports, "example.com") == "NOTFOUND");
    CHECK(ask(b, map_kind::transports, "lala.com").starts_with("TEMP transport of lala.com"));
    CHECK(ask(b, map_kind::relayhosts, "@blobber.org") == "[smtp.blobber.net]:587");
    CHECK(ask(b, map_kind::relayhosts, "xandros@blobber.org") == "[smtp.blobber.net]:587");
    CHECK(ask(b, map_kind::relayhosts, "@whopper.nu") == "NOTFOUND");
    CHECK(ask(b, map_kind::relayhosts, "blobber.org") == "NOTFOUND");
    // One address moved ahead of its domain: its own transport, +extensions included.
    b.address("blobber.org", "vivita").transport = "smtp:[new.blobber.net]:25";
    CHECK(ask(b, map_kind::transports, "vivita@blobber.org") == "smtp:[new.blobber.net]:25");
    CHECK(ask(b, map_kind::transports, "Vivita+x@blobber.org") == "smtp:[new.blobber.net]:25");
    CHECK(ask(b, map_kind::transports, "xandros@blobber.org") == "lmtp:inet:[10.0.0.5]:24");
    b.address("whopper.nu", "moved").transport = "smtp:[new.whopper.net]";
    CHECK(ask(b, map_kind::transports, "moved@whopper.nu") == "smtp:[new.whopper.net]");
    CHECK(ask(b, map_kind::transports, "other@whopper.nu") == "NOTFOUND");
    // The delivery maps of a primary domain are unchanged by a transport.
    CHECK(ask(b, map_kind::mailboxes, "xandros@blobber.org") == "blobber.org/xandros/");
}
