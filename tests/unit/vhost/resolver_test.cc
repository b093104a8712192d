// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/resolver.hh"

#include <catch2/catch.hpp>

#include "tests/support/snapshot_builder.hh"

using namespace vhostmail;
using namespace vhostmail::vhost;

namespace {

// "kind address" lines of a resolution, for compact expectations.
std::vector<std::string> routes(test::snapshot_builder& b, const std::string& address,
                                resolve_options options = {}) {
    snapshot_directory dir(b.build());
    auto r = resolve(dir, address, options);
    std::vector<std::string> out;
    if (r.status == lookup_status::not_found) {
        out.push_back("NOTFOUND");
    } else if (r.status == lookup_status::temp_fail) {
        out.push_back("TEMP");
    }
    for (const auto& d : r.destinations) {
        out.push_back(std::string(to_string(d.kind)) + " " + d.address);
    }
    return out;
}

using list = std::vector<std::string>;

}  // namespace

TEST_CASE("SPEC examples route as the specification says") {
    auto b = test::spec_example();
    CHECK(routes(b, "john@whopper.nu") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "julian@lala.com") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "vivita@mail.blobber.org") == list{"mailbox vivita@blobber.org"});
    CHECK(routes(b, "nobody@mail.blobber.org") == list{"NOTFOUND"});
    CHECK(routes(b, "karl@blobber.org") == list{"remote karl.vovianda@gmail.com"});
    CHECK(routes(b, "julian@blobber.org") == list{"NOTFOUND"});
    CHECK(routes(b, "xandros@blobber.org") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "postmaster@blobber.org") == list{"remote postmaster@localhost"});
}

TEST_CASE("a mailbox is never swallowed by the catch-all") {
    auto b = test::spec_example();
    b.mailbox("whopper.nu", "anna");
    CHECK(routes(b, "anna@whopper.nu") == list{"mailbox anna@whopper.nu"});
    CHECK(routes(b, "bert@whopper.nu") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "anna@lala.com") == list{"mailbox anna@whopper.nu"});
}

TEST_CASE("case is folded and extensions are handled") {
    auto b = test::spec_example();
    CHECK(routes(b, "XANDROS@Blobber.ORG") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "xandros+lists@blobber.org") == list{"mailbox xandros+lists@blobber.org"});
    CHECK(routes(b, "karl+x@blobber.org") == list{"remote karl.vovianda+x@gmail.com"});
    resolve_options no_propagation;
    no_propagation.propagate_extension = false;
    CHECK(routes(b, "karl+x@blobber.org", no_propagation) ==
          list{"remote karl.vovianda@gmail.com"});
    CHECK(routes(b, "julian+x@blobber.org") == list{"NOTFOUND"});
    resolve_options dash;
    dash.delimiters = "-";
    CHECK(routes(b, "xandros-a@blobber.org", dash) == list{"mailbox xandros-a@blobber.org"});
    CHECK(routes(b, "xandros-a@blobber.org") == list{"NOTFOUND"});
    // The exact address wins over the extension split.
    b.mailbox("blobber.org", "xandros+special");
    CHECK(routes(b, "xandros+special@blobber.org") == list{"mailbox xandros+special@blobber.org"});
}

TEST_CASE("unknown, invalid and disabled things are not found") {
    auto b = test::spec_example();
    CHECK(routes(b, "joe@example.net") == list{"NOTFOUND"});
    CHECK(routes(b, "no-at-sign") == list{"NOTFOUND"});
    CHECK(routes(b, "@blobber.org") == list{"NOTFOUND"});
    CHECK(routes(b, "x@bad..domain") == list{"NOTFOUND"});
    b.address("blobber.org", "vivita").enabled = false;
    CHECK(routes(b, "vivita@blobber.org") == list{"NOTFOUND"});
    b.domain("blobber.org").fallback = "xandros";
    CHECK(routes(b, "vivita@blobber.org") == list{"NOTFOUND"});  // disabled: not caught
    CHECK(routes(b, "other@blobber.org") == list{"mailbox xandros@blobber.org"});
    b.domain("whopper.nu", "xandros@blobber.org").enabled = false;
    CHECK(routes(b, "john@whopper.nu") == list{"NOTFOUND"});
    CHECK(routes(b, "julian@lala.com") == list{"NOTFOUND"});  // chain into a disabled domain
}

TEST_CASE("a domain that refuses mail is reported") {
    auto b = test::spec_example();
    auto& d = b.domain("whopper.nu", "xandros@blobber.org");
    d.accepts_mail = false;
    d.reject_text = "closed";
    snapshot_directory dir(b.build());
    auto r = resolve(dir, "john@whopper.nu", {});
    CHECK(r.status == lookup_status::not_found);
    CHECK(r.rejected_by_domain);
    CHECK(r.reject_text == "closed");
}

TEST_CASE("domain aliases share the users of their domain") {
    auto b = test::spec_example();
    b.domain_alias("blobber.net", "blobber.org");
    CHECK(routes(b, "vivita@blobber.net") == list{"mailbox vivita@blobber.org"});
    CHECK(routes(b, "Vivita+x@BLOBBER.net") == list{"mailbox vivita+x@blobber.org"});
    CHECK(routes(b, "nobody@blobber.net") == list{"NOTFOUND"});
    b.domain_alias("whopper.se", "whopper.nu");
    CHECK(routes(b, "anyone@whopper.se") == list{"mailbox xandros@blobber.org"});
}

TEST_CASE("forwardings expand recursively, keep copies and drop dead branches") {
    auto b = test::spec_example();
    auto& team = b.address("blobber.org", "team");
    team.forwards = {"xandros@blobber.org", "vivita@blobber.org", "ghost@blobber.org",
                     "friend@example.net"};
    CHECK(routes(b, "team@blobber.org") == list{"mailbox xandros@blobber.org",
                                                "mailbox vivita@blobber.org",
                                                "remote friend@example.net"});
    b.address("blobber.org", "vivita").forwards = {"vivita@example.net"};
    CHECK(routes(b, "vivita@blobber.org") ==
          list{"mailbox vivita@blobber.org", "remote vivita@example.net"});
    b.address("blobber.org", "dead").forwards = {"ghost@blobber.org"};
    CHECK(routes(b, "dead@blobber.org") == list{"NOTFOUND"});
}

TEST_CASE("loops and deep nesting end, not hang") {
    auto b = test::spec_example();
    b.address("blobber.org", "a").forwards = {"b@blobber.org"};
    b.address("blobber.org", "b").forwards = {"a@blobber.org"};
    CHECK(routes(b, "a@blobber.org") == list{"NOTFOUND"});
    b.address("blobber.org", "b").forwards = {"a@blobber.org", "xandros@blobber.org"};
    CHECK(routes(b, "a@blobber.org") == list{"mailbox xandros@blobber.org"});
    b.domain("loop.example", "@loop2.example");
    b.domain("loop2.example", "@loop.example");
    CHECK(routes(b, "x@loop.example") == list{"NOTFOUND"});
    b.domain("self.example", "nobody");
    CHECK(routes(b, "x@self.example") == list{"NOTFOUND"});
    for (int i = 0; i < 30; ++i) {
        b.address("blobber.org", "n" + std::to_string(i)).forwards = {"n" + std::to_string(i + 1) +
                                                                      "@blobber.org"};
    }
    b.mailbox("blobber.org", "n30");
    CHECK(routes(b, "n10@blobber.org") == list{"mailbox n30@blobber.org"});
    CHECK(routes(b, "n0@blobber.org") == list{"NOTFOUND"});  // deeper than 20
}

TEST_CASE("fallback forms") {
    auto b = test::spec_example();
    b.domain("cmd.example", "|/usr/bin/handler %u");
    auto r = routes(b, "Anyone+x@cmd.example");
    CHECK(r == list{"command anyone+x@cmd.example"});
    b.domain("local.example", "info");
    b.address("local.example", "info").forwards = {"xandros@blobber.org"};
    CHECK(routes(b, "who@local.example") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "julian+x@lala.com") == list{"mailbox xandros@blobber.org"});
    resolve_options no_fallback;
    no_fallback.use_fallback = false;
    CHECK(routes(b, "john@whopper.nu", no_fallback) == list{"NOTFOUND"});
}

TEST_CASE("a fallback with blanks around it routes as its trimmed form") {
    // What the admin store checks permissions on (parse_fallback) is what routes here.
    auto b = test::spec_example();
    for (std::string v : {" |/bin/handler %u", "\t|/bin/handler %u", "|  /bin/handler %u ",
                          "\r\n|/bin/handler %u"}) {
        b.domain("cmd.example", v);
        CHECK(routes(b, "who@cmd.example") == list{"command who@cmd.example"});
        CHECK(parse_fallback(v).what == fallback_rule::kind::command);
        CHECK(parse_fallback(v).target == "/bin/handler %u");
    }
    b.domain("cmd.example", " @whopper.nu ");
    CHECK(routes(b, "who@cmd.example") == list{"mailbox xandros@blobber.org"});
    CHECK(parse_fallback("  ").what == fallback_rule::kind::none);
    CHECK(fallback_text(parse_fallback("\t@other.example ")) == "@other.example");
}

TEST_CASE("a view bounded to some domains stops where routing enters another") {
    auto b = test::spec_example();
    std::set<std::string> mine{"whopper.nu"};
    resolve_options view;
    view.visible_domains = &mine;
    snapshot_directory dir(b.build());
    auto r = resolve(dir, "john@whopper.nu", view);
    CHECK(r.destinations.empty());  // xandros's Maildir is not shown
    CHECK(r.outside_scope == std::vector<std::string>{"xandros@blobber.org"});
    bool stopped = false;
    for (const auto& step : r.trace) {
        CHECK(step.find("Maildir") == std::string::npos);
        stopped = stopped || step == "leaves your domains at xandros@blobber.org: not shown";
    }
    CHECK(stopped);
}

TEST_CASE("full-name matching only when enabled and unambiguous") {
    auto b = test::spec_example();
    CHECK(routes(b, "xandros.blob@blobber.org") == list{"NOTFOUND"});
    b.domain("blobber.org").fullname_matching = true;
    CHECK(routes(b, "Xandros.Blob@blobber.org") == list{"mailbox xandros@blobber.org"});
    CHECK(routes(b, "xandros_blob@blobber.org") == list{"mailbox xandros@blobber.org"});
    b.mailbox("blobber.org", "xb").full_name = "Xandros Blob";
    CHECK(routes(b, "xandros.blob@blobber.org") == list{"NOTFOUND"});
}

TEST_CASE("auto-responder addresses without a mailbox are deliverable while active") {
    auto b = test::spec_example();
    auto& info = b.address("blobber.org", "info");
    info.vacation = vacation_window{true, 1000, 2000};
    resolve_options at;
    at.now = 1500;
    CHECK(routes(b, "info@blobber.org", at) == list{"autoreply info@blobber.org"});
    at.now = 2500;
    CHECK(routes(b, "info@blobber.org", at) == list{"NOTFOUND"});
}

TEST_CASE("destinations carry what delivery and policy need: no second directory call") {
    auto b = test::spec_example();
    auto& dom = b.domain("blobber.org");
    dom.quota_bytes = 5000;
    dom.quota_messages = 50;
    dom.filter_command = "/usr/bin/filter";
    auto& xandros = b.mailbox("blobber.org", "xandros");
    xandros.quota_bytes = 100;  // its own byte limit, the domain's message limit
    uint64_t xandros_id = xandros.id;
    auto& info = b.address("blobber.org", "info");
    info.vacation = vacation_window{true, 1000, 2000};
    b.address("blobber.org", "vivita").vacation = vacation_window{true, 1000, 2000};
    resolve_options at;
    at.now = 1500;
    snapshot_directory dir(b.build());
    auto x = resolve(dir, "john@whopper.nu", at);
    REQUIRE(x.destinations.size() == 1);
    const auto& xd = x.destinations[0];
    CHECK(xd.address_id == xandros_id);
    CHECK(xd.quota == store::quota_limits{100, 50});
    CHECK_FALSE(xd.vacation);
    CHECK(xd.filter_command == "/usr/bin/filter");
    auto v = resolve(dir, "vivita@blobber.org", at);
    REQUIRE(v.destinations.size() == 1);
    CHECK(v.destinations[0].quota == store::quota_limits{5000, 50});
    CHECK(v.destinations[0].vacation);  // a mailbox whose vacation is on: one destination
    auto i = resolve(dir, "info@blobber.org", at);
    REQUIRE(i.destinations.size() == 1);
    CHECK(i.destinations[0].kind == destination_kind::autoreply);
    CHECK(i.destinations[0].vacation);
    CHECK(i.destinations[0].quota.unlimited());
    auto k = resolve(dir, "karl@blobber.org", at);
    REQUIRE(k.destinations.size() == 1);
    CHECK(k.destinations[0].address_id == 0);
    CHECK(k.destinations[0].filter_command.empty());  // remote: no domain of ours filters it
}

TEST_CASE("sender logins follow ownership, aliases and grants, never the catch-all") {
    auto b = test::spec_example();
    b.address("blobber.org", "sales").forwards = {"vivita@blobber.org", "x@example.net"};
    b.address("blobber.org", "role");
    b.grant("blobber.org", "role", "xandros@blobber.org");
    b.domain_alias("blobber.net", "blobber.org");
    b.mailbox("blobber.org", "nopass", false);
    b.mailbox("whopper.nu", "boss");
    b.admin("whopper.nu", "boss@whopper.nu");
    snapshot_directory dir(b.build());
    auto logins = [&](const std::string& sender) {
        auto r = sender_logins(dir, sender, {});
        if (r.status != lookup_status::found) {
            return list{r.status == lookup_status::temp_fail ? "TEMP" : "NOTFOUND"};
        }
        return r.value;
    };
    CHECK(logins("xandros@blobber.org") == list{"xandros@blobber.org"});
    CHECK(logins("XANDROS+tag@blobber.net") == list{"xandros@blobber.org"});
    CHECK(logins("vivita@blobber.org") == list{"vivita@blobber.org"});
    CHECK(logins("sales@blobber.org") == list{"vivita@blobber.org"});
    CHECK(logins("role@blobber.org") == list{"xandros@blobber.org"});
    CHECK(logins("nopass@blobber.org") == list{"NOTFOUND"});
    CHECK(logins("john@whopper.nu") == list{"boss@whopper.nu"});  // admin, not the catch-all
    CHECK(logins("karl@blobber.org") == list{"NOTFOUND"});
    CHECK(logins("someone@example.net") == list{"NOTFOUND"});

    auto may = [&](const std::string& login, const std::string& sender) {
        auto r = may_send_as(dir, login, sender, {});
        REQUIRE(r.status == lookup_status::found);
        return r.value;
    };
    CHECK(may("Xandros@Blobber.org", "xandros+tag@blobber.net"));
    CHECK(may("xandros@blobber.org", "role@blobber.org"));
    CHECK_FALSE(may("xandros@blobber.org", "vivita@blobber.org"));
    CHECK_FALSE(may("xandros@blobber.org", "someone@example.net"));
}
