// SPDX-License-Identifier: Apache-2.0
// The routing image: a segment answers what it was built from; damaged bytes never read outside
// the segment; a writer's incremental versions answer like a full build of the same data, also
// across compactions into new images, and an old version keeps answering its own state.
#include "lib/vhost/routing_image.hh"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sys/stat.h>
#include <thread>

#include <catch2/catch.hpp>

#include "lib/vhost/image_reader.hh"
#include "lib/vhost/snapshot.hh"

using namespace vhostmail;
using namespace vhostmail::vhost;

namespace {

address_record make_address(uint64_t id, std::string local) {
    address_record a;
    a.id = id;
    a.local_part = std::move(local);
    return a;
}

domain_data sample_domain() {
    domain_data d;
    d.domain.id = 7;
    d.domain.name = "example.org";
    d.domain.reject_text = "closed";
    d.domain.accepts_mail = false;
    d.domain.logins = login_smtp | login_imap;
    d.domain.quota_bytes = 1000;
    d.domain.max_message_size = 0;
    d.domain.fallback = "|/usr/bin/catch all";
    d.domain.filter_command = "/usr/bin/filter";
    d.domain.fullname_matching = true;
    d.version = 42;
    d.aliases = {"example.net", "example.com"};
    auto joe = make_address(100, "joe");
    joe.mailbox = true;
    joe.maildir = default_maildir("example.org", "joe");
    joe.has_password = true;
    joe.full_name = "Joe  Van-Who";
    joe.quota_messages = 5;
    d.addresses.push_back(joe);
    auto own = make_address(101, "sales+vip");
    own.mailbox = true;
    own.maildir = "elsewhere/sales-vip/";
    own.forwards = {"a@b.example", "", std::string(300, 'x') + "@c.example"};
    own.vacation = vacation_window{true, -5, std::nullopt};
    own.logins = 0;
    own.enabled = false;
    d.addresses.push_back(own);
    auto twin1 = make_address(102, "twin1");
    twin1.full_name = "Twin";
    auto twin2 = make_address(103, "twin2");
    twin2.full_name = "twin";
    d.addresses.push_back(twin1);
    d.addresses.push_back(twin2);
    d.grants = {{"joe", {"b@x.example", "a@y.example"}}, {"", {"all@example.org"}}};
    d.admins = {"boss@example.org"};
    return d;
}

std::vector<std::string> strings(const packed_strings& p) {
    std::vector<std::string> out;
    for (auto s : p) {
        out.emplace_back(s);
    }
    return out;
}

// Everything a segment answers, as text, for comparing two builds.
std::string describe(const domain_segment& seg) {
    std::string out(seg.domain().name);
    out += "|" + std::to_string(seg.domain().id) + "|" + std::string(seg.domain().fallback);
    if (auto aliases = seg.aliases()) {
        for (auto a : *aliases) {
            out += "|alias " + std::string(a);
        }
    }
    seg.for_each_address([&](const address_view& a) {
        out += "|" + std::string(a.local_part) + "=" + std::to_string(a.id) + ":" + a.maildir();
        for (auto f : a.forwards) {
            out += ">" + std::string(f);
        }
    });
    return out;
}

}  // namespace

TEST_CASE("a segment answers what it was built from") {
    auto bytes = encode_domain(sample_domain());
    auto seg = domain_segment::open(bytes);
    REQUIRE(seg);
    const auto& d = seg->domain();
    CHECK(d.id == 7);
    CHECK(d.name == "example.org");
    CHECK(d.reject_text == "closed");
    CHECK(!d.accepts_mail);
    CHECK(d.enabled);
    CHECK(d.logins == (login_smtp | login_imap));
    CHECK(d.quota_bytes == std::optional<uint64_t>(1000));
    CHECK(!d.quota_messages);
    CHECK(d.max_message_size == std::optional<uint64_t>(0));
    CHECK(d.fallback == "|/usr/bin/catch all");
    CHECK(d.filter_command == "/usr/bin/filter");
    CHECK(d.fullname_matching);
    CHECK(seg->version() == 42);
    CHECK(seg->address_count() == 4);
    CHECK(strings(*seg->aliases()) == std::vector<std::string>{"example.net", "example.com"});

    address_view a;
    REQUIRE(seg->find_address("joe", a) == domain_segment::found::yes);
    CHECK(a.id == 100);
    CHECK(a.mailbox);
    CHECK(a.maildir() == "example.org/joe/");
    CHECK(a.stored_maildir.empty());  // the default is not stored
    CHECK(a.has_password);
    CHECK(a.full_name == "Joe  Van-Who");
    CHECK(a.quota_messages == std::optional<uint64_t>(5));
    CHECK(!a.quota_bytes);
    CHECK(!a.vacation);
    CHECK(a.forwards.empty());
    CHECK(a.logins == (login_smtp | login_imap | login_pop3 | login_sieve));

    REQUIRE(seg->find_address("sales+vip", a) == domain_segment::found::yes);
    CHECK(!a.enabled);
    CHECK(a.maildir() == "elsewhere/sales-vip/");
    CHECK(strings(a.forwards) ==
          std::vector<std::string>{"a@b.example", "", std::string(300, 'x') + "@c.example"});
    REQUIRE(a.vacation);
    CHECK(a.vacation->enabled);
    CHECK(a.vacation->starts_at == std::optional<std::time_t>(-5));
    CHECK(!a.vacation->ends_at);
    CHECK(a.logins == 0);

    CHECK(seg->find_address("sales", a) == domain_segment::found::no);
    CHECK(seg->find_address("JOE", a) == domain_segment::found::no);  // callers fold case
    CHECK(seg->find_address("", a) == domain_segment::found::no);

    REQUIRE(seg->find_full_name("joe.van.who", a) == domain_segment::found::yes);
    CHECK(a.local_part == "joe");
    CHECK(seg->find_full_name("twin", a) == domain_segment::found::no);  // ambiguous
    CHECK(seg->find_full_name("nobody", a) == domain_segment::found::no);

    std::vector<std::string> logins;
    REQUIRE(seg->sender_grants("joe", logins));
    CHECK(logins == std::vector<std::string>{"b@x.example", "a@y.example", "all@example.org",
                                             "boss@example.org"});
    logins.clear();
    REQUIRE(seg->sender_grants("other", logins));
    CHECK(logins == std::vector<std::string>{"all@example.org", "boss@example.org"});

    size_t n = 0;
    CHECK(seg->for_each_address([&](const address_view&) { ++n; }));
    CHECK(n == 4);
}

TEST_CASE("single records round-trip through their encoding") {
    auto d = sample_domain();
    std::string bytes;
    encode_domain_record(d.domain, bytes);
    auto view = decode_domain_record(bytes);
    REQUIRE(view);
    CHECK(view->name == "example.org");
    CHECK(view->fallback == "|/usr/bin/catch all");
    std::string record;
    encode_address_record(d.addresses[1], "example.org", record);
    auto a = decode_address_record(record, "example.org");
    REQUIRE(a);
    CHECK(a->maildir() == "elsewhere/sales-vip/");
    CHECK(a->forwards.size() == 3);
    CHECK(!decode_address_record(record.substr(0, record.size() - 1), "example.org"));
}

TEST_CASE("records encoded as rows arrive make the same segment; the first local part wins") {
    // The full load encodes each address row as it arrives instead of keeping it, and hands
    // encode_domain the domain's records as views of its buffer.
    auto d = sample_domain();
    domain_data pre = d;
    pre.addresses.clear();
    std::vector<std::string> records;  // one per address
    std::string all;                   // the same, concatenated
    for (const auto& a : d.addresses) {
        encode_address_record(a, d.domain.name, records.emplace_back());
        encode_address_record(a, d.domain.name, all);
    }
    std::vector<std::string_view> views(records.begin(), records.end());
    CHECK(encode_domain(pre, views) == encode_domain(d));
    std::string_view whole = all;
    CHECK(encode_domain(pre, std::span(&whole, 1)) == encode_domain(d));

    // The forwardings given apart from the record make the same record.
    for (const auto& a : d.addresses) {
        std::vector<std::string_view> forwards(a.forwards.begin(), a.forwards.end());
        address_record bare = a;
        bare.forwards.clear();
        std::string record;
        encode_address_record(bare, d.domain.name, forwards, record);
        CHECK(record == records[&a - d.addresses.data()]);
    }

    // A mailbox with no Maildir given (as the full load reads it) is the default one; the
    // domain's name is not needed to encode it.
    address_record joe = d.addresses[0];
    REQUIRE(joe.maildir == "example.org/joe/");
    joe.maildir.clear();
    std::string joe_record;
    encode_address_record(joe, "", joe_record);
    CHECK(joe_record == records[0]);

    // Part encoded, part records: encoded ones first.
    domain_data mixed = d;
    mixed.addresses.erase(mixed.addresses.begin());
    CHECK(encode_domain(mixed, std::span(views).first(1)) == encode_domain(d));

    // A second "joe" (an upper-case local part stored by hand, folded at load) is dropped, in
    // either form.
    auto again = make_address(200, "joe");
    again.full_name = "Someone Else";
    domain_data dup = d;
    dup.addresses.push_back(again);
    std::string again_record;
    encode_address_record(again, d.domain.name, again_record);
    auto dup_views = views;
    dup_views.push_back(again_record);
    for (const auto& bytes : {encode_domain(dup), encode_domain(pre, dup_views)}) {
        auto seg = domain_segment::open(bytes);
        REQUIRE(seg);
        CHECK(seg->address_count() == 4);
        address_view a;
        REQUIRE(seg->find_address("joe", a) == domain_segment::found::yes);
        CHECK(a.id == 100);
        CHECK(seg->find_full_name("someone.else", a) == domain_segment::found::no);
    }

    // Records that are not the encoder's make no segment (the loader reports the domain).
    auto broken = views;
    broken.back().remove_suffix(1);
    CHECK(encode_domain(pre, broken).empty());
}

TEST_CASE("a damaged segment is refused or answers without reading outside it") {
    const auto good = encode_domain(sample_domain());
    auto exercise = [](const std::string& bytes) {
        // A copy of exactly this size, so ASan sees any read past its end.
        auto seg = domain_segment::open(bytes);
        if (!seg) {
            return;
        }
        address_view a;
        for (const char* local : {"joe", "sales+vip", "twin1", "nobody", ""}) {
            (void)seg->find_address(local, a);
        }
        (void)seg->find_full_name("joe.van.who", a);
        (void)seg->find_full_name("twin", a);
        std::vector<std::string> logins;
        (void)seg->sender_grants("joe", logins);
        if (auto aliases = seg->aliases()) {
            for (auto s : *aliases) {
                (void)s;
            }
        }
        seg->for_each_address([](const address_view& v) {
            for (auto f : v.forwards) {
                (void)f;
            }
        });
    };
    for (size_t n = 0; n < good.size(); ++n) {
        std::string cut = good.substr(0, n);
        CHECK(!domain_segment::open(cut));  // the header's size no longer matches
    }
    std::mt19937 rng(1);
    for (int i = 0; i < 20000; ++i) {
        std::string bad = good;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            bad[rng() % bad.size()] = static_cast<char>(rng());
        }
        exercise(bad);
    }
}

TEST_CASE("incremental versions answer like a full build, across compactions") {
    std::mt19937 rng(7);
    std::map<uint64_t, domain_data> model;
    uint64_t next_address = 1000;
    auto random_domain = [&](uint64_t id) {
        domain_data d;
        d.domain.id = id;
        d.domain.name = "d" + std::to_string(id) + "-" + std::to_string(rng() % 1000) + ".example";
        d.version = rng();
        if (rng() % 4 == 0) {
            d.aliases.push_back("alias" + std::to_string(id) + ".example");
        }
        int n = static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) {
            auto a = make_address(next_address++, "u" + std::to_string(i));
            a.mailbox = rng() % 2 == 0;
            if (a.mailbox) {
                a.maildir = default_maildir(d.domain.name, a.local_part);
            }
            if (rng() % 3 == 0) {
                a.forwards.push_back("f" + std::to_string(rng() % 50) + "@remote.example");
            }
            d.addresses.push_back(a);
        }
        return d;
    };
    // A small reservation, so that versions move to new images while old ones are held.
    image_writer writer(size_t{1} << 20);
    for (uint64_t id = 1; id <= 300; ++id) {
        model[id] = random_domain(id);
        REQUIRE(writer.put(model[id]));
    }
    auto first = writer.commit(1);
    REQUIRE(first);
    std::map<std::string, std::string> first_answers;
    first->for_each_domain([&](const domain_segment& seg) {
        first_answers[std::string(seg.domain().name)] = describe(seg);
    });
    CHECK(first_answers.size() == 300);

    std::shared_ptr<const snapshot> current = first;
    for (int round = 0; round < 200; ++round) {
        int changes = 1 + static_cast<int>(rng() % 5);
        for (int c = 0; c < changes; ++c) {
            uint64_t id = 1 + rng() % 400;
            if (rng() % 5 == 0) {
                model.erase(id);
                writer.remove(id);
            } else {
                model[id] = random_domain(id);
                REQUIRE(writer.put(model[id]));
            }
        }
        current = writer.commit(2 + round);
        REQUIRE(current);
    }

    // The last version answers exactly the model, like a fresh full build of it.
    image_writer fresh(size_t{64} << 20);
    for (const auto& [id, d] : model) {
        REQUIRE(fresh.put(d));
    }
    auto full = fresh.commit(1);
    CHECK(current->domain_count() == model.size());
    CHECK(full->domain_count() == model.size());
    for (const auto& [id, d] : model) {
        domain_segment a;
        domain_segment b;
        REQUIRE(current->find_domain(d.domain.name, a) == snapshot::found::yes);
        REQUIRE(full->find_domain(d.domain.name, b) == snapshot::found::yes);
        CHECK(describe(a) == describe(b));
        for (const auto& alias : d.aliases) {
            REQUIRE(current->find_domain(alias, a) == snapshot::found::yes);
            CHECK(a.domain().id == id);
        }
    }
    size_t listed = 0;
    current->for_each_domain([&](const domain_segment&) { ++listed; });
    CHECK(listed == model.size());
    domain_segment none;
    CHECK(current->find_domain("unknown.example", none) == snapshot::found::no);

    // The first version still answers its own state, though its image was replaced.
    for (const auto& [name, text] : first_answers) {
        domain_segment seg;
        REQUIRE(first->find_domain(name, seg) == snapshot::found::yes);
        CHECK(describe(seg) == text);
    }
}

TEST_CASE("a domain whose alias moves to another domain is found there") {
    image_writer writer(size_t{4} << 20);
    domain_data a;
    a.domain.id = 1;
    a.domain.name = "a.example";
    a.aliases = {"moving.example"};
    domain_data b;
    b.domain.id = 2;
    b.domain.name = "b.example";
    writer.put(a);
    writer.put(b);
    auto v1 = writer.commit(1);
    a.aliases.clear();
    b.aliases = {"moving.example"};
    writer.put(a);
    writer.put(b);
    auto v2 = writer.commit(2);
    domain_segment seg;
    REQUIRE(v1->find_domain("moving.example", seg) == snapshot::found::yes);
    CHECK(seg.domain().name == "a.example");
    REQUIRE(v2->find_domain("moving.example", seg) == snapshot::found::yes);
    CHECK(seg.domain().name == "b.example");
    writer.remove(2);
    auto v3 = writer.commit(3);
    CHECK(v3->find_domain("moving.example", seg) == snapshot::found::no);
    CHECK(v3->find_domain("b.example", seg) == snapshot::found::no);
    CHECK(v3->find_domain("a.example", seg) == snapshot::found::yes);
    CHECK(v3->serial() == 3);
}

TEST_CASE("a reader of the published file follows every version, across new images") {
    char dir_template[] = "/tmp/vhm-image-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    std::string path = std::string(dir_template) + "/routing.image";
    {
        image_reader reader(path);
        CHECK(!reader.current().snap);  // nothing published yet

        // A small reservation, so new images replace the file while the reader holds one.
        image_writer writer(size_t{1} << 20, path);
        std::mt19937 rng(3);
        uint64_t next = 1;
        for (int round = 0; round < 60; ++round) {
            for (int i = 0; i < 20; ++i) {
                domain_data d;
                d.domain.id = 1 + rng() % 50;
                d.domain.name = "d" + std::to_string(d.domain.id) + ".example";
                d.version = round;
                for (int a = 0; a < 30; ++a) {
                    d.addresses.push_back(make_address(next++, "u" + std::to_string(a)));
                }
                REQUIRE(writer.put(d));
            }
            auto mine = writer.commit(100 + round);
            auto now = std::chrono::steady_clock::now();
            writer.confirm(now.time_since_epoch().count(), round % 2 == 1);
            // The reader may look at the path only every 100 ms: a superseded image is
            // followed at the next look.
            image_reader fresh_reader(path);
            for (auto* r : {&reader, &fresh_reader}) {
                auto v = r->current();
                for (int wait = 0; wait < 40 && (!v.snap || v.snap->serial() != mine->serial());
                     ++wait) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
                    v = r->current();
                }
                REQUIRE(v.snap);
                CHECK(v.snap->serial() == mine->serial());
                CHECK(v.snap->domain_count() == mine->domain_count());
                CHECK(v.confirmed_at == now);
                CHECK(v.db_down == (round % 2 == 1));
                domain_segment a, b;
                REQUIRE(mine->find_domain("d1.example", a) == v.snap->find_domain("d1.example", b));
                if (a.bytes().size() > 0) {
                    CHECK(describe(a) == describe(b));
                }
            }
        }

        struct stat st {};

        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);
        CHECK(::stat((path + ".new").c_str(), &st) != 0);  // nothing left half written
    }
    std::filesystem::remove_all(dir_template);
}
