// SPDX-License-Identifier: Apache-2.0
// routing_diff.cc - differential test of the routing directories, driven by
// run_routing_diff_test.py over data made by tests/integration/vhm_routing_data.py.
// Three directories answer the same questions through the one resolver and must agree on
// everything it returns:
//   A    snapshot_directory over a copy loaded once, then refreshed incrementally by one
//        snapshot_loader (lookupd's way)
//   B    snapshot_directory over a fresh full load, made by each check
//   SQL  sql_directory over a db::pool, a new one per key (as the daemons make one per message)
// Each key is asked resolve() (trace on, a fixed "now") and sender_logins().
// A against B finds incremental refresh bugs (a change the triggers or the loader miss); B
// against SQL finds the two readers of the same rows disagreeing. Each check also compares A's
// and B's data domain by domain, which finds stale data no key happened to ask about.
//
// Protocol: one command per stdin line; every command ends with one line starting "OK ",
// "ERR " or "checked ":
//   load           full load into A by a new loader
//                      -> "OK load domains=N serial=S full=1 rows=N ms=T"
//   refresh        refresh of A by the same loader (incremental unless many domains changed)
//                      -> "OK refresh changed=0|1 full=0|1 domains_read=N rows=N same_pointer=0|1
//                          serial=S ms=T"
//   check KEYFILE  every key of KEYFILE (one per line) through A, B and SQL: resolve() and
//                  sender_logins(); a block per disagreement, then
//                  "checked N keys, M mismatches, D snapshot differences (... connections=N ...)"
//                  (B reads on two connections at once, A's loads on one)
//   race           a full load offered a second connection, with a routing change committed
//                  after the first connection's snapshot and before the second's: it must read
//                  on one, the data of the first snapshot
//   second_as U P  a full load whose second connection (user U) fails in the middle
//   no_second      a full load that cannot open a second connection
//                  each -> "why: ..." then "OK <command> connections=N differences=D serial=S
//                  current=C" (D: snapshot differences from A)
//   quit
// Exit status: 0 when no check found a mismatch or difference and no command failed, else 1;
// 64 for bad arguments.
// Usage: routing_diff --socket PATH --user U --password P --database D --now UNIX_TIME
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/db/pool.hh"
#include "lib/vhost/image_segment.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/schema.hh"
#include "lib/vhost/snapshot.hh"
#include "lib/vhost/snapshot_loader.hh"
#include "lib/vhost/sql_directory.hh"

namespace db = vhostmail::db;
namespace vh = vhostmail::vhost;
using vhostmail::lookup;
using vhostmail::lookup_status;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::string socket, user, password, database;
    std::time_t now = 0;
};

db::settings pool_settings(const options& o) {
    db::settings s;
    s.hosts = {"unix:" + o.socket};
    s.user = o.user;
    s.password = o.password;
    s.database = o.database;
    // Generous: an ASan build on a busy machine is slow, and a timeout here would show up as a
    // temp_fail mismatch that has nothing to do with routing.
    s.connect_timeout = std::chrono::seconds(10);
    s.read_timeout = std::chrono::seconds(30);
    s.write_timeout = std::chrono::seconds(30);
    s.lease_timeout = std::chrono::seconds(30);
    s.idle_interval = std::chrono::hours(1);
    s.pool_size = 2;
    return s;
}

long long ms_since(steady::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
}

// Printable on one line whatever the data holds (UTF-8 passes, control bytes are escaped).
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string_view status_name(lookup_status s) {
    switch (s) {
        case lookup_status::found:
            return "found";
        case lookup_status::not_found:
            return "not_found";
        case lookup_status::temp_fail:
            return "temp_fail";
    }
    return "?";
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ",") + quoted(i);
    }
    return "[" + out + "]";
}

// Everything resolve() returns (but outside_scope, which needs visible_domains), one fact per
// line, so two answers compare as vectors and print as readable blocks.
std::vector<std::string> render(const vh::resolution& r) {
    std::vector<std::string> out;
    out.push_back("status=" + std::string(status_name(r.status)) + " reason=" + quoted(r.reason) +
                  " rejected_by_domain=" + (r.rejected_by_domain ? "1" : "0") +
                  " reject_text=" + quoted(r.reject_text));
    for (const auto& d : r.destinations) {
        out.push_back("dest kind=" + std::string(vh::to_string(d.kind)) +
                      " address=" + quoted(d.address) + " maildir=" + quoted(d.maildir) +
                      " command=" + quoted(d.command) + " base_local=" + quoted(d.base_local) +
                      " extension=" + quoted(d.extension) +
                      " address_id=" + std::to_string(d.address_id) +
                      " quota=" + std::to_string(d.quota.bytes) + "/" +
                      std::to_string(d.quota.messages) + " vacation=" + (d.vacation ? "1" : "0") +
                      " filter_command=" + quoted(d.filter_command));
    }
    for (const auto& t : r.trace) {
        out.push_back("trace " + quoted(t));
    }
    out.push_back("visited " + joined(r.visited));
    return out;
}

std::vector<std::string> render(const lookup<std::vector<std::string>>& l) {
    return {"status=" + std::string(status_name(l.status)) + " logins=" + joined(l.value) +
            " reason=" + quoted(l.reason)};
}

std::string opt(const std::optional<uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("null");
}

std::string opt_time(const std::optional<std::time_t>& v) {
    return v ? std::to_string(*v) : std::string("null");
}

std::string list(const vh::packed_strings& items) {
    std::vector<std::string> v;
    for (auto item : items) {
        v.emplace_back(item);
    }
    return joined(v);
}

std::string render(const vh::address_view& a) {
    std::string vacation = "none";
    if (a.vacation) {
        vacation = std::to_string(a.vacation->enabled) + ":" + opt_time(a.vacation->starts_at) +
                   ".." + opt_time(a.vacation->ends_at);
    }
    return "id=" + std::to_string(a.id) + " local=" + quoted(a.local_part) +
           " domain=" + quoted(a.domain_name) + " enabled=" + std::to_string(a.enabled) +
           " mailbox=" + std::to_string(a.mailbox) + " maildir=" + quoted(a.maildir()) +
           " password=" + std::to_string(a.has_password) + " full_name=" + quoted(a.full_name) +
           " logins=" + std::to_string(a.logins) + " quota=" + opt(a.quota_bytes) + "/" +
           opt(a.quota_messages) + " forwards=" + list(a.forwards) + " vacation=" + vacation;
}

// A domain of a snapshot as sorted lines, read through its public accessors: two loads of the
// same rows give the same lines, whatever order the rows came in. Grants are probed for every
// local part of the domain and the whole domain (grants on local parts that are no address are
// seen only through the keys).
std::vector<std::string> render(const vh::snapshot& snap, const vh::domain_segment& seg) {
    std::vector<std::string> out;
    const auto& r = seg.domain();
    out.push_back("domain id=" + std::to_string(r.id) + " name=" + quoted(r.name) + " enabled=" +
                  std::to_string(r.enabled) + " accepts_mail=" + std::to_string(r.accepts_mail) +
                  " reject_text=" + quoted(r.reject_text) + " logins=" + std::to_string(r.logins) +
                  " quota=" + opt(r.quota_bytes) + "/" + opt(r.quota_messages) +
                  " max_message_size=" + opt(r.max_message_size) +
                  " fallback=" + quoted(r.fallback) + " filter=" + quoted(r.filter_command) +
                  " fullname_matching=" + std::to_string(r.fullname_matching) +
                  " version=" + std::to_string(seg.version()));
    if (auto aliases = seg.aliases()) {
        for (auto alias : *aliases) {
            vh::domain_segment target;
            auto f = snap.find_domain(alias, target);
            out.push_back("alias " + quoted(alias) + " -> " +
                          (f == vh::snapshot::found::yes ? quoted(target.domain().name)
                                                         : std::string("(not found)")));
        }
    } else {
        out.push_back("aliases damaged");
    }
    std::vector<std::string> locals;
    bool whole = seg.for_each_address([&](const vh::address_view& a) {
        out.push_back("address " + render(a));
        locals.emplace_back(a.local_part);
        if (!a.full_name.empty()) {
            vh::address_view named;
            auto key = vh::normalize_full_name(a.full_name);
            auto f = seg.find_full_name(key, named);
            out.push_back("full_name " + quoted(key) + " -> " +
                          (f == vh::domain_segment::found::yes  ? quoted(named.local_part)
                           : f == vh::domain_segment::found::no ? std::string("none")
                                                                : std::string("damaged")));
        }
    });
    if (!whole) {
        out.push_back("addresses damaged");
    }
    // sender_grants(local) lists the grants on `local`, then those on the whole domain, then the
    // administrators: the grants on `local` are what it lists beyond sender_grants("").
    std::vector<std::string> admins;
    if (auto listed = seg.admins()) {
        for (auto login : *listed) {
            admins.emplace_back(login);
        }
    }
    out.push_back("admins " + joined(admins));
    std::vector<std::string> domain_wide;
    if (!seg.sender_grants("", domain_wide) || domain_wide.size() < admins.size()) {
        out.push_back("grants damaged");
        domain_wide.clear();
    }
    size_t shared = domain_wide.size();
    domain_wide.resize(shared - std::min(shared, admins.size()));
    out.push_back("grants on the whole domain " + joined(domain_wide));
    for (const auto& local : locals) {
        std::vector<std::string> logins;
        if (local.empty()) {
            continue;
        }
        if (!seg.sender_grants(local, logins) || logins.size() < shared) {
            out.push_back("grants on " + quoted(local) + " damaged");
            continue;
        }
        logins.resize(logins.size() - shared);
        if (!logins.empty()) {
            out.push_back("grants on " + quoted(local) + " " + joined(logins));
        }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());  // full names shared by several
    return out;
}

// Every domain of a snapshot, by canonical name.
std::map<std::string, std::vector<std::string>> render_all(const vh::snapshot& snap, bool& ok) {
    std::map<std::string, std::vector<std::string>> out;
    ok = snap.for_each_domain([&](const vh::domain_segment& seg) {
        out[std::string(seg.domain().name)] = render(snap, seg);
    });
    return out;
}

struct tally {
    size_t keys = 0;
    size_t mismatches = 0;                // (key, question) pairs on which not all three agreed
    std::map<std::string, size_t> pairs;  // "resolve A/B" -> count
    std::map<std::string, size_t> statuses;
};

constexpr size_t max_lines_shown = 40;

// Prints one question's three answers when they disagree; returns whether they did.
bool compare(std::string_view what, const std::string& key,
             const std::vector<std::string> (&answers)[3], tally& t) {
    static const char* const names[3] = {"A", "B", "SQL"};
    bool ab = answers[0] == answers[1];
    bool bs = answers[1] == answers[2];
    bool as = answers[0] == answers[2];
    if (ab && bs) {
        return false;
    }
    ++t.mismatches;
    std::string pairs;
    const std::pair<bool, const char*> which[] = {{!ab, "A/B"}, {!bs, "B/SQL"}, {!as, "A/SQL"}};
    for (const auto& [differs, label] : which) {
        if (differs) {
            ++t.pairs[std::string(what) + " " + label];
            pairs += std::string(pairs.empty() ? "" : " ") + label;
        }
    }
    std::cout << "MISMATCH " << what << " key=" << quoted(key) << " differ: " << pairs << "\n";
    // Identical answers are printed once, under all their names.
    bool shown[3] = {false, false, false};
    for (int i = 0; i < 3; ++i) {
        if (shown[i]) {
            continue;
        }
        std::string label;
        for (int j = i; j < 3; ++j) {
            if (!shown[j] && answers[j] == answers[i]) {
                shown[j] = true;
                label += std::string(label.empty() ? "" : ",") + names[j];
            }
        }
        size_t n = 0;
        for (const auto& line : answers[i]) {
            if (++n > max_lines_shown) {
                std::cout << "  [" << label << "] ... " << answers[i].size() - max_lines_shown
                          << " more lines\n";
                break;
            }
            // '*' marks the lines the other answers lack: the difference, in a long trace.
            bool everywhere = true;
            for (int j = 0; j < 3; ++j) {
                if (std::find(answers[j].begin(), answers[j].end(), line) == answers[j].end()) {
                    everywhere = false;
                }
            }
            std::cout << "  [" << label << "]" << (everywhere ? "  " : " *") << line << "\n";
        }
    }
    return true;
}

// A against B, domain by domain; prints what differs, returns how many domains differ.
size_t compare_snapshots(const vh::snapshot& a, const vh::snapshot& b) {
    bool ok_a = false;
    bool ok_b = false;
    auto lines_a = render_all(a, ok_a);
    auto lines_b = render_all(b, ok_b);
    size_t differing = 0;
    if (!ok_a || !ok_b) {
        ++differing;
        std::cout << "SNAPSHOT damaged: A " << (ok_a ? "ok" : "damaged") << ", B "
                  << (ok_b ? "ok" : "damaged") << "\n";
    }
    std::set<std::string> names;
    for (const auto& [name, lines] : lines_a) {
        names.insert(name);
    }
    for (const auto& [name, lines] : lines_b) {
        names.insert(name);
    }
    static const std::vector<std::string> none;
    for (const auto& name : names) {
        auto ia = lines_a.find(name);
        auto ib = lines_b.find(name);
        const auto& la = ia == lines_a.end() ? none : ia->second;
        const auto& lb = ib == lines_b.end() ? none : ib->second;
        if (la == lb) {
            continue;
        }
        ++differing;
        std::cout << "SNAPSHOT domain " << quoted(name) << " differs between A (incremental)"
                  << " and B (full load):\n";
        for (const auto& l : la) {
            if (!std::binary_search(lb.begin(), lb.end(), l)) {
                std::cout << "  A only: " << l << "\n";
            }
        }
        for (const auto& l : lb) {
            if (!std::binary_search(la.begin(), la.end(), l)) {
                std::cout << "  B only: " << l << "\n";
            }
        }
    }
    if (a.serial() != b.serial() || a.domain_count() != b.domain_count()) {
        ++differing;
        std::cout << "SNAPSHOT A serial=" << a.serial() << " domains=" << a.domain_count()
                  << ", B serial=" << b.serial() << " domains=" << b.domain_count() << "\n";
    }
    return differing;
}

class differ {
public:
    explicit differ(const options& o) : pool_(pool_settings(o)) {
        resolve_.now = o.now;
        resolve_.trace = true;
    }

    bool failed() const { return failed_; }

    void run(std::istream& in) {
        std::string line;
        while (std::getline(in, line)) {
            if (line == "quit") {
                break;
            }
            if (line == "load") {
                load();
            } else if (line == "refresh") {
                refresh();
            } else if (line == "race") {
                race();
            } else if (line == "no_second") {
                no_second();
            } else if (line.starts_with("second_as ")) {
                second_as(line.substr(10));
            } else if (line.starts_with("check ")) {
                check(line.substr(6));
            } else if (!line.empty()) {
                error("unknown command " + quoted(line));
            }
            std::cout.flush();
        }
    }

private:
    void error(const std::string& what) {
        failed_ = true;
        std::cout << "ERR " << what << "\n";
    }

    // `loader`'s refresh on a pooled connection; null after printing an ERR.
    std::shared_ptr<const vh::snapshot> read(vh::snapshot_loader& loader,
                                             vh::refresh_stats& stats) {
        auto l = pool_.acquire();
        if (!l) {
            error("connect: " + db::describe(l.error()));
            return nullptr;
        }
        auto snap = loader.refresh(**l, stats);
        if (!snap) {
            error("refresh: " + db::describe(snap.error()));
            return nullptr;
        }
        return *snap;
    }

    void load() {
        auto start = steady::now();
        loader_ = std::make_unique<vh::snapshot_loader>();
        vh::refresh_stats stats;
        auto snap = read(*loader_, stats);
        if (!snap) {
            return;
        }
        a_ = snap;
        std::cout << "OK load domains=" << a_->domain_count() << " serial=" << a_->serial()
                  << " full=" << stats.full << " rows=" << stats.rows_read
                  << " ms=" << ms_since(start) << "\n";
    }

    void refresh() {
        if (!a_) {
            error("refresh before load");
            return;
        }
        auto start = steady::now();
        vh::refresh_stats stats;
        auto snap = read(*loader_, stats);
        if (!snap) {
            return;
        }
        bool same = snap == a_;
        a_ = snap;
        std::cout << "OK refresh changed=" << stats.changed << " full=" << stats.full
                  << " domains_read=" << stats.domains_read << " rows=" << stats.rows_read
                  << " same_pointer=" << same << " serial=" << a_->serial()
                  << " ms=" << ms_since(start) << "\n";
    }

    void check(const std::string& path) {
        if (!a_) {
            error("check before load");
            return;
        }
        std::ifstream keys(path);
        if (!keys) {
            error("cannot read " + quoted(path));
            return;
        }
        auto start = steady::now();
        vh::snapshot_loader fresh("", open_second());  // B: a full load of its own, as lookupd's
        vh::refresh_stats stats;
        auto b = read(fresh, stats);
        if (!b) {
            return;
        }
        auto loaded = steady::now();
        size_t snapshot_differences = compare_snapshots(*a_, *b);
        auto compared = steady::now();
        tally t;
        std::string key;
        while (std::getline(keys, key)) {
            if (key.empty()) {
                continue;
            }
            ++t.keys;
            check_key(key, b, t);
        }
        if (t.mismatches > 0 || snapshot_differences > 0) {
            failed_ = true;
        }
        std::string detail;
        for (const auto& [what, n] : t.pairs) {
            detail += what + "=" + std::to_string(n) + " ";
        }
        for (const auto& [what, n] : t.statuses) {
            detail += what + "=" + std::to_string(n) + " ";
        }
        std::cout
            << "checked " << t.keys << " keys, " << t.mismatches << " mismatches, "
            << snapshot_differences << " snapshot differences (" << detail
            << "connections=" << stats.connections << " ms=" << ms_since(start) << " load_ms="
            << std::chrono::duration_cast<std::chrono::milliseconds>(loaded - start).count()
            << " compare_ms="
            << std::chrono::duration_cast<std::chrono::milliseconds>(compared - loaded).count()
            << ")\n";
    }

    // Opens B's second connection as lookupd does, to the first one's server.
    vh::open_connection_fn open_second() const {
        return [s = pool_.connection_settings()](const db::connection& first) {
            return db::connection::open(s, first.host());
        };
    }

    // A full load by a loader whose second connection comes from `opener`, against A (loaded
    // or refreshed last before the command): "why: ..." then "OK <what> connections=N
    // differences=D serial=S current=C" (C: the database's serial after the load).
    void variant_load(const std::string& what, const vh::open_connection_fn& opener) {
        vh::snapshot_loader loader("", opener);
        vh::refresh_stats stats;
        auto snap = read(loader, stats);
        if (!snap) {
            return;
        }
        auto l = pool_.acquire();
        auto serials = l ? vh::read_serials(**l) : db::outcome<vh::node_serials>(l.error());
        if (!serials) {
            error(what + ": serials: " + db::describe(serials.error()));
            return;
        }
        size_t differences = a_ ? compare_snapshots(*a_, *snap) : 0;
        std::cout << "why: " << stats.one_connection_why << "\n";
        std::cout << "OK " << what << " connections=" << stats.connections
                  << " differences=" << differences << " serial=" << snap->serial()
                  << " current=" << vh::serial_sum(*serials) << "\n";
    }

    // race: a new address committed by a third session after the first connection's snapshot
    // (taken before the opener is asked) and before the second's (taken once it is returned).
    // The second connection reads the upper half of the address ids: were it used, the load
    // would hold the address with the old domain version, and differ from A.
    void race() {
        auto opener = open_second();
        std::string change_error = "not run";
        variant_load("race", [&](const db::connection& first) {
            auto second = opener(first);
            auto l = pool_.acquire();
            auto changed = l ? (*l)->query("INSERT INTO addresses (domain_id, local_part, mailbox)"
                                           " SELECT id, 'race-probe', TRUE FROM domains"
                                           " ORDER BY id LIMIT 1")
                             : db::outcome<db::result>(l.error());
            change_error = changed ? "" : db::describe(changed.error());
            return second;
        });
        if (!change_error.empty()) {
            error("race: the change failed: " + change_error);
        }
    }

    // second_as USER PASSWORD: the second connection logs in as a user the test allowed less
    // (no forwardings): it fails in the middle of the load, which reads on the first alone.
    void second_as(const std::string& args) {
        auto space = args.find(' ');
        db::settings s = pool_.connection_settings();
        s.user = args.substr(0, space);
        s.password = space == std::string::npos ? "" : args.substr(space + 1);
        variant_load("second_as", [s](const db::connection& first) {
            return db::connection::open(s, first.host());
        });
    }

    // no_second: no second connection to be had.
    void no_second() {
        variant_load("no_second", [](const db::connection&) {
            return db::outcome<std::unique_ptr<db::connection>>(
                db::make_error(1040, "08004", "Too many connections (test)"));
        });
    }

    void check_key(const std::string& key, const std::shared_ptr<const vh::snapshot>& b, tally& t) {
        vh::snapshot_directory dir_a(a_);
        vh::snapshot_directory dir_b(b);
        // One per key for both questions, as a daemon keeps one per message.
        vh::sql_directory dir_sql(pool_);
        vh::directory* dirs[3] = {&dir_a, &dir_b, &dir_sql};
        std::vector<std::string> routes[3];
        std::vector<std::string> senders[3];
        for (int i = 0; i < 3; ++i) {
            auto routed = vh::resolve(*dirs[i], key, resolve_);
            if (i == 1) {
                ++t.statuses["resolve_" + std::string(status_name(routed.status))];
            }
            routes[i] = render(routed);
        }
        for (int i = 0; i < 3; ++i) {
            auto logins = vh::sender_logins(*dirs[i], key, resolve_);
            if (i == 1) {
                ++t.statuses["senders_" + std::string(status_name(logins.status))];
            }
            senders[i] = render(logins);
        }
        compare("resolve", key, routes, t);
        compare("sender_logins", key, senders, t);
    }

    db::pool pool_;
    vh::resolve_options resolve_;
    std::unique_ptr<vh::snapshot_loader> loader_;  // A's: keeps its image between refreshes
    std::shared_ptr<const vh::snapshot> a_;
    bool failed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
    options o;
    bool have_now = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view flag = argv[i];
        std::string value = argv[i + 1];
        if (flag == "--socket") {
            o.socket = value;
        } else if (flag == "--user") {
            o.user = value;
        } else if (flag == "--password") {
            o.password = value;
        } else if (flag == "--database") {
            o.database = value;
        } else if (flag == "--now") {
            o.now = static_cast<std::time_t>(std::stoll(value));
            have_now = true;
        } else {
            std::cerr << "routing_diff: unknown option " << flag << "\n";
            return 64;
        }
    }
    if (argc % 2 != 1 || o.socket.empty() || o.database.empty() || !have_now) {
        std::cerr << "usage: routing_diff --socket PATH --user U --password P --database D"
                     " --now UNIX_TIME\n";
        return 64;
    }
    differ d(o);
    d.run(std::cin);
    return d.failed() ? 1 : 0;
}
