// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/delivery.hh"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "lib/core/exit_code.hh"
#include "tests/support/snapshot_builder.hh"
#include "tests/unit/store/temp_dir.hh"

using namespace vhostmail;
using namespace vhostmail::deliver;
namespace fs = std::filesystem;

namespace {

class fake_store final : public delivery_store {
public:
    std::set<std::pair<uint64_t, std::string>> replied;
    std::map<uint64_t, std::pair<int64_t, int64_t>> usage;
    bool fail = false;

    store_result vacation(uint64_t, vacation_text& out) override {
        out = {true, "Away", "I am away.", 604800};
        return {!fail, fail ? "db down" : ""};
    }
    store_result claim_reply(uint64_t id, const std::string& sender, uint64_t,
                             bool& claimed) override {
        claimed = replied.insert({id, sender}).second;
        return {};
    }
    store_result release_reply(uint64_t id, const std::string& sender) override {
        replied.erase({id, sender});
        return {};
    }
    store_result record_usage(uint64_t id, int64_t bytes, int64_t messages) override {
        usage[id] = {bytes, messages};
        return {};
    }

    std::vector<std::string> queued;  // "recipient: why"
    bool queue_fails = false;

    store_result queue_reply(uint64_t, const std::string& recipient, const std::string& message,
                             const std::string& why) override {
        if (queue_fails) {
            return {false, "db down"};
        }
        queued.push_back(recipient + ": " + why + (message.empty() ? " (empty)" : ""));
        return {};
    }
};

// Answers temp_fail for everything: the database is down.
class down_directory final : public vhost::directory {
public:
    lookup<vhost::domain_view> find_domain(std::string_view) override {
        return lookup<vhost::domain_view>::temp_fail("db down");
    }

    lookup<vhost::address_view> find_address(const vhost::domain_view&, std::string_view) override {
        return lookup<vhost::address_view>::temp_fail("db down");
    }

    lookup<vhost::address_view> find_full_name(const vhost::domain_view&,
                                               std::string_view) override {
        return lookup<vhost::address_view>::temp_fail("db down");
    }

    lookup<std::vector<std::string>> sender_grants(const vhost::domain_view&,
                                                   std::string_view) override {
        return lookup<std::vector<std::string>>::temp_fail("db down");
    }
};

std::vector<std::string> messages_in(const std::string& maildir) {
    std::vector<std::string> out;
    if (!fs::exists(maildir + "/new")) {
        return out;
    }
    for (const auto& e : fs::directory_iterator(maildir + "/new")) {
        std::ifstream f(e.path());
        std::stringstream s;
        s << f.rdbuf();
        out.push_back(s.str());
    }
    return out;
}

struct fixture {
    test::temp_dir base;
    test::temp_dir work;
    test::snapshot_builder b;
    fake_store store;
    delivery_settings settings;
    unique_fd base_fd = base.open();

    fixture() {
        b.domain("blobber.org");
        b.domain("whopper.nu", "xandros@blobber.org");
        b.domain("lala.com", "@whopper.nu");
        b.mailbox("blobber.org", "xandros");
        b.mailbox("blobber.org", "vivita");
        std::string sendmail = work.path() + "/sendmail";
        std::ofstream(sendmail) << "#!/bin/sh\necho \"$@\" >> " << work.path()
                                << "/sendmail.args\ncat >> " << work.path() << "/sendmail.out\n";
        fs::permissions(sendmail, fs::perms::owner_all);
        settings.hostname = "mx.test";
        settings.sendmail = {sendmail};
        settings.command_as_daemon_user = true;  // no command user to switch to in a unit test
    }

    delivery_result send(const std::string& rcpt, const std::string& msg,
                         const std::string& sender = "bob@example.net") {
        vhost::snapshot_directory dir(b.build());
        delivery_agent agent(settings, base_fd.get(), dir, store);
        return agent.deliver({sender, rcpt, ""}, msg, parse_headers(msg));
    }

    std::vector<std::string> box(const std::string& path) {
        return messages_in(base.path() + "/" + path);
    }

    std::string file(const std::string& name) {
        std::ifstream f(work.path() + "/" + name);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }
};

const std::string hello = "To: xandros@blobber.org\nSubject: hi\n\nhello\n";

}  // namespace

TEST_CASE("SPEC examples reach the right Maildir with trace headers", "[delivery]") {
    fixture f;
    auto r = f.send("john@whopper.nu", hello);
    CHECK(r.code == 250);
    CHECK(r.exit == ex_ok);
    r = f.send("julian@lala.com", hello);
    CHECK(r.code == 250);
    auto box = f.box("blobber.org/xandros");
    REQUIRE(box.size() == 2);
    CHECK(box[0].rfind("Return-Path: <bob@example.net>\nDelivered-To: xandros@blobber.org\n",
                       0) == 0);
    CHECK(box[0].find("\n\nhello\n") != std::string::npos);

    auto unknown = f.send("julian@blobber.org", hello);
    CHECK(unknown.code == 550);
    CHECK(unknown.enhanced == "5.1.1");
    CHECK(unknown.exit == ex_nouser);
}

TEST_CASE("null sender and original recipient headers", "[delivery]") {
    fixture f;
    vhost::snapshot_directory dir(f.b.build());
    delivery_agent agent(f.settings, f.base_fd.get(), dir, f.store);
    auto r = agent.deliver({"", "xandros@blobber.org", "john@whopper.nu"}, hello,
                           parse_headers(hello));
    CHECK(r.code == 250);
    auto box = f.box("blobber.org/xandros");
    REQUIRE(box.size() == 1);
    CHECK(box[0].rfind("Return-Path: <>\nX-Original-To: john@whopper.nu\n"
                       "Delivered-To: xandros@blobber.org\n", 0) == 0);
}

TEST_CASE("a message already delivered to this recipient is a loop", "[delivery]") {
    fixture f;
    auto r = f.send("xandros@blobber.org", "Delivered-To: Xandros@blobber.org\n" + hello);
    CHECK(r.code == 554);
    CHECK(r.enhanced == "5.4.6");
    CHECK(f.box("blobber.org/xandros").empty());
}

TEST_CASE("quota: over the limit is refused, nothing written", "[delivery]") {
    fixture f;
    f.b.address("blobber.org", "xandros").quota_bytes = 200;
    auto ok = f.send("xandros@blobber.org", hello);
    CHECK(ok.code == 250);
    REQUIRE(f.store.usage.count(f.b.address("blobber.org", "xandros").id) == 0);  // id renewed
    // Temporary by default: Postfix accepted the recipient already, and a bounce would go to
    // a sender that may be forged.
    auto over_temp = f.send("xandros@blobber.org", hello + std::string(300, 'x'));
    CHECK(over_temp.code == 452);
    CHECK(over_temp.enhanced == "4.2.2");
    CHECK(over_temp.exit == ex_tempfail);
    CHECK(f.box("blobber.org/xandros").size() == 1);
    f.settings.over_quota_permanent = true;
    auto over = f.send("xandros@blobber.org", hello + std::string(300, 'x'));
    CHECK(over.code == 552);
    CHECK(over.enhanced == "5.2.2");
    std::ifstream size(f.base.path() + "/blobber.org/xandros/maildirsize");
    std::string header;
    std::getline(size, header);
    CHECK(header == "200S,0C");
}

TEST_CASE("quota: the domain default applies, 0 on the address means unlimited", "[delivery]") {
    fixture f;
    f.b.domain("blobber.org").quota_messages = 1;
    f.b.mailbox("blobber.org", "xandros");
    f.b.mailbox("blobber.org", "vivita").quota_messages = 0;
    CHECK(f.send("xandros@blobber.org", hello).code == 250);
    CHECK(f.send("xandros@blobber.org", hello).code == 452);
    CHECK(f.send("vivita@blobber.org", hello).code == 250);
    CHECK(f.send("vivita@blobber.org", hello).code == 250);
    CHECK(f.store.usage.size() == 1);
}

TEST_CASE("vacation: one reply per sender, none to lists, mail still delivered", "[delivery]") {
    fixture f;
    f.b.address("blobber.org", "xandros").vacation = vhost::vacation_window{true, {}, {}};
    CHECK(f.send("xandros@blobber.org", hello).code == 250);
    CHECK(f.send("xandros@blobber.org", hello).code == 250);
    CHECK(f.send("xandros@blobber.org", "List-Id: <x>\n" + hello, "carol@example.net").code ==
          250);
    CHECK(f.box("blobber.org/xandros").size() == 3);
    // The same person writing from an extension or in other case: no second reply.
    CHECK(f.send("xandros@blobber.org", hello, "Bob+lists@Example.NET").code == 250);
    auto args = f.file("sendmail.args");
    CHECK(args == "-i -f <> -- bob@example.net\n");
    auto reply = f.file("sendmail.out");
    CHECK(reply.find("Auto-Submitted: auto-replied\n") != std::string::npos);
    CHECK(reply.find("Subject: Away\n") != std::string::npos);
    CHECK(reply.find("From: <xandros@blobber.org>\n") != std::string::npos);
}

TEST_CASE("vacation: a reply sendmail does not take waits in the outbox, never silently lost",
          "[delivery]") {
    fixture f;
    f.settings.sendmail = {"/bin/sh", "-c", "exit 75", "sh"};
    f.b.address("blobber.org", "xandros").vacation = vhost::vacation_window{true, {}, {}};
    auto r = f.send("xandros@blobber.org", hello);
    CHECK(r.code == 250);  // the message is in the Maildir: delivery is not retried for it
    CHECK(f.box("blobber.org/xandros").size() == 1);
    REQUIRE(f.store.queued.size() == 1);
    CHECK(f.store.queued[0] == "bob@example.net: sendmail exit status 75");
    CHECK(f.store.replied.size() == 1);  // the claim stays: no second reply meanwhile
    // Neither submitted nor queued: said as an error; the claim goes, so a later message may
    // still get its reply.
    f.store.queue_fails = true;
    CHECK(f.send("xandros@blobber.org", hello, "carol@example.net").code == 250);
    CHECK(f.store.replied.size() == 1);
}

TEST_CASE("vacation: an auto-responder without mailbox; outside its dates it is silent",
          "[delivery]") {
    fixture f;
    f.b.address("blobber.org", "away").vacation = vhost::vacation_window{true, {}, {}};
    f.b.address("blobber.org", "later").vacation =
        vhost::vacation_window{true, std::time(nullptr) + 3600, {}};
    CHECK(f.send("away@blobber.org", "To: away@blobber.org\n\nx\n").code == 250);
    CHECK(f.file("sendmail.args") == "-i -f <> -- bob@example.net\n");
    CHECK(f.send("later@blobber.org", "To: later@blobber.org\n\nx\n").code == 550);
    f.store.fail = true;
    auto temp = f.send("away@blobber.org", "To: away@blobber.org\n\nx\n", "dan@example.net");
    CHECK(temp.code == 451);
}

TEST_CASE("domain filter: rewrites, discards, or defers", "[delivery]") {
    fixture f;
    f.b.domain("blobber.org").filter_command = "/bin/sed s/hello/HELLO/";
    f.b.mailbox("blobber.org", "xandros");
    CHECK(f.send("xandros@blobber.org", hello).code == 250);
    auto box = f.box("blobber.org/xandros");
    REQUIRE(box.size() == 1);
    CHECK(box[0].find("\nHELLO\n") != std::string::npos);

    f.b.domain("blobber.org").filter_command = "/bin/true";
    f.b.mailbox("blobber.org", "xandros");
    auto dropped = f.send("xandros@blobber.org", hello);
    CHECK(dropped.code == 250);
    CHECK(f.box("blobber.org/xandros").size() == 1);

    f.b.domain("blobber.org").filter_command = "/bin/false";
    f.b.mailbox("blobber.org", "xandros");
    auto failed = f.send("xandros@blobber.org", hello);
    CHECK(failed.code == 451);
    CHECK(failed.exit == ex_tempfail);
    CHECK(f.box("blobber.org/xandros").size() == 1);
}

TEST_CASE("domain filter: once per message and domain, whatever the recipients", "[delivery]") {
    fixture f;
    std::string runs = f.work.path() + "/runs";
    f.b.domain("blobber.org").filter_command = "/bin/sh -c 'echo run >> " + runs + "; exec cat'";
    vhost::snapshot_directory dir(f.b.build());
    delivery_agent agent(f.settings, f.base_fd.get(), dir, f.store);
    for (const char* rcpt : {"xandros@blobber.org", "vivita@blobber.org", "john@whopper.nu"}) {
        CHECK(agent.deliver({"bob@example.net", rcpt, ""}, hello, parse_headers(hello)).code ==
              250);
    }
    CHECK(f.file("runs") == "run\n");
    CHECK(f.box("blobber.org/xandros").size() == 2);
    // A failing filter holds every recipient of the message without running again.
    f.b.domain("blobber.org").filter_command = "/bin/sh -c 'echo run >> " + runs + "; exit 1'";
    vhost::snapshot_directory dir2(f.b.build());
    delivery_agent failing(f.settings, f.base_fd.get(), dir2, f.store);
    for (const char* rcpt : {"xandros@blobber.org", "vivita@blobber.org"}) {
        CHECK(failing.deliver({"bob@example.net", rcpt, ""}, hello, parse_headers(hello)).code ==
              451);
    }
    CHECK(f.file("runs") == "run\nrun\n");
}

TEST_CASE("fallback command gets the message and %d %u %f", "[delivery]") {
    fixture f;
    std::string out = f.work.path() + "/cmd";
    f.b.domain("pipe.example", "|/usr/bin/tee " + out + "-%u-%d-%f");
    auto r = f.send("joe@pipe.example", hello, "bob@example.net");
    CHECK(r.code == 250);
    std::ifstream got(out + "-joe-pipe.example-bob@example.net");
    std::stringstream s;
    s << got.rdbuf();
    CHECK(s.str().find("Delivered-To: joe@pipe.example\n") != std::string::npos);
    CHECK(s.str().find("\nhello\n") != std::string::npos);

    f.b.domain("fail.example", "|/bin/sh -c 'exit 75'");
    CHECK(f.send("joe@fail.example", hello).code == 451);
    f.b.domain("bounce.example", "|/bin/sh -c 'exit 67'");
    auto nouser = f.send("joe@bounce.example", hello);
    CHECK(nouser.code == 550);
    CHECK(nouser.exit == ex_nouser);
}

TEST_CASE("programs the database names wait for a command user; no values as code", "[delivery]") {
    fixture f;
    f.settings.command_as_daemon_user = false;
    f.b.domain("pipe.example", "|/bin/true");
    auto refused = f.send("joe@pipe.example", hello);
    CHECK(refused.code == 451);  // kept and retried, never run as the delivery user
    CHECK(refused.text.find("no command user is configured") != std::string::npos);
    f.b.domain("blobber.org").filter_command = "/bin/cat";
    CHECK(f.send("xandros@blobber.org", hello).code == 451);
    CHECK(f.box("blobber.org/xandros").empty());

    f.settings.command_as_daemon_user = true;
    f.b.domain("blobber.org").filter_command = "";
    std::string marker = f.work.path() + "/ran";
    f.b.domain("shell.example", "|/bin/sh -c 'touch " + marker + "-%u'");
    auto code = f.send("joe@shell.example", hello);
    CHECK(code.code == 451);
    CHECK_FALSE(fs::exists(marker + "-joe"));
    f.b.domain("shell.example", "|/bin/sh -c 'touch \"$1\"' sh " + marker + "-%u");
    CHECK(f.send("joe@shell.example", hello).code == 250);
    CHECK(fs::exists(marker + "-joe"));
}

TEST_CASE("database down and bad paths are temporary failures", "[delivery]") {
    fixture f;
    down_directory down;
    delivery_agent agent(f.settings, f.base_fd.get(), down, f.store);
    auto r = agent.deliver({"bob@example.net", "xandros@blobber.org", ""}, hello, {});
    CHECK(r.code == 451);
    CHECK(r.exit == ex_tempfail);

    f.b.address("blobber.org", "xandros").maildir = "../../etc/";
    auto escape = f.send("xandros@blobber.org", hello);
    CHECK(escape.code == 451);

    f.b.address("blobber.org", "xandros").maildir = "blobber.org/link/";
    fs::create_directories(f.base.path() + "/blobber.org");
    fs::create_directory_symlink("/tmp", f.base.path() + "/blobber.org/link");
    auto symlink = f.send("xandros@blobber.org", hello);
    CHECK(symlink.code == 451);
}

TEST_CASE("result table matches pipe(8) and LMTP", "[delivery]") {
    CHECK(result_from_exit(0, "x").code == 250);
    CHECK(result_from_exit(75, "x").exit == ex_tempfail);
    CHECK(result_from_exit(71, "x").code == 451);
    CHECK(result_from_exit(67, "x").enhanced == "5.1.1");
    CHECK(result_from_exit(1, "x").exit == ex_unavailable);
    CHECK(result_from_exit(1, "x").code == 550);
    CHECK(result_over_quota(true, "").exit == ex_cantcreat);
    CHECK(result_loop("").exit == ex_dataerr);
}
