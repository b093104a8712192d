// SPDX-License-Identifier: Apache-2.0
// config_test.cc - main.cf parser, $name expansion, typed values, loading and dumping.
#include "lib/config/config.hh"

#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/config/common_params.hh"
#include "lib/config/config_file.hh"
#include "lib/config/params.hh"
#include "lib/config/server_params.hh"

using namespace vhostmail::config;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

namespace {

// A file with `content` that is removed at scope exit.
class temp_file {
public:
    explicit temp_file(const std::string& content) {
        const char* dir = getenv("TMPDIR");
        std::string tmpl = std::string(dir != nullptr ? dir : "/tmp") + "/vhm_config_XXXXXX";
        int fd = mkstemp(tmpl.data());
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        close(fd);
        path_ = tmpl;
    }

    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    ~temp_file() { unlink(path_.c_str()); }

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

param_table test_table() {
    param_table t;
    t.add({.name = "s", .default_value = "hello", .doc = "a string"});
    t.add({.name = "n", .type = param_type::integer, .default_value = "4", .min = 1, .max = 256});
    t.add({.name = "big", .type = param_type::integer, .default_value = "-7"});
    t.add({.name = "b", .type = param_type::boolean, .default_value = "no"});
    t.add({.name = "d", .type = param_type::duration, .default_value = "300s"});
    t.add({.name = "dr",
           .type = param_type::duration,
           .default_value = "5s",
           .min = duration_bound(1s),
           .max = duration_bound(1h)});
    t.add({.name = "z", .type = param_type::size, .default_value = "10m"});
    t.add({.name = "l", .type = param_type::list, .default_value = "a, b c"});
    t.add({.name = "m", .type = param_type::mode, .default_value = "0660"});
    t.add({.name = "c",
           .type = param_type::choice,
           .default_value = "mail",
           .choices = {"mail", "daemon", "local0"}});
    t.add({.name = "ref", .default_value = "${s}-$n"});
    t.add({.name = "pw", .default_value = "", .secret = true});
    t.add({.name = "lookupd_x", .default_value = "mine"});
    return t;
}

load_result load_o(const strings& overrides) {
    return load_config(test_table(), {.file = "", .overrides = overrides, .foreign_prefixes = {}});
}

std::string one_error(const strings& overrides) {
    auto r = load_o(overrides);
    CHECK_FALSE(r.cfg);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0];
}

std::optional<std::string> lookup_in(const parsed_config& p, std::string_view name) {
    std::optional<std::string> v;
    for (const auto& e : p.entries) {
        if (e.name == name) {
            v = e.value;
        }
    }
    return v;
}

expansion expand_in(const parsed_config& p, std::string_view name,
                    size_t max_size = default_max_expanded_size) {
    auto raw = lookup_in(p, name);
    REQUIRE(raw);
    return expand_value(
        name, *raw, [&](std::string_view n) { return lookup_in(p, n); }, max_size);
}

}  // namespace

TEST_CASE("parser: names, values, comments, blank lines") {
    auto p = parse_config(
        "# comment\n"
        "\n"
        "   # indented comment\n"
        "a=1\n"
        "b   =   two words   \n"
        "c =\n"
        "d = x=y # not a comment\n"
        "\t\n",
        "t.cf");
    CHECK(p.errors.empty());
    REQUIRE(p.entries.size() == 4);
    CHECK(p.entries[0].name == "a");
    CHECK(p.entries[0].value == "1");
    CHECK(p.entries[0].file == "t.cf");
    CHECK(p.entries[0].line == 4);
    CHECK(p.entries[1].value == "two words");
    CHECK(p.entries[2].value.empty());
    CHECK(p.entries[3].value == "x=y # not a comment");
}

TEST_CASE("parser: continuation lines join with one space, comments inside are skipped") {
    auto p = parse_config(
        "hosts = a,\n"
        "    b,\n"
        "# comment in the middle\n"
        "\n"
        "\tc   \n"
        "next = 1\n"
        "x =\n"
        "  y\n",
        "t.cf");
    CHECK(p.errors.empty());
    REQUIRE(p.entries.size() == 3);
    CHECK(p.entries[0].value == "a, b, c");
    CHECK(p.entries[0].line == 1);
    CHECK(p.entries[1].line == 6);
    CHECK(p.entries[2].value == "y");
}

TEST_CASE("parser: CRLF line endings and a last line without newline") {
    auto p = parse_config("a = 1\r\nb = x\r\n  y\r\n\r\nc = 3", "t.cf");
    CHECK(p.errors.empty());
    REQUIRE(p.entries.size() == 3);
    CHECK(p.entries[0].value == "1");
    CHECK(p.entries[1].value == "x y");
    CHECK(p.entries[2].value == "3");
}

TEST_CASE("parser: syntax errors carry file:line and parsing goes on") {
    auto p = parse_config(
        "  leading = space\n"
        "  more\n"
        "novalue\n"
        "= x\n"
        "bad name = x\n"
        "bad-dash = x\n"
        "ok = 1\n",
        "/etc/vhostmail/vhostmail.cf");
    CHECK(p.errors == strings{
                          "/etc/vhostmail/vhostmail.cf:1: logical line must not start with "
                          "whitespace: \"leading = space\"",
                          "/etc/vhostmail/vhostmail.cf:3: missing \"=\" after parameter name: "
                          "\"novalue\"",
                          "/etc/vhostmail/vhostmail.cf:4: missing parameter name before \"=\"",
                          "/etc/vhostmail/vhostmail.cf:5: bad parameter name \"bad name\"",
                          "/etc/vhostmail/vhostmail.cf:6: bad parameter name \"bad-dash\"",
                      });
    REQUIRE(p.entries.size() == 1);
    CHECK(p.entries[0].name == "ok");
}

TEST_CASE("parser: NUL bytes are errors, the logical line is dropped") {
    using namespace std::string_literals;
    auto p = parse_config("a = x\0y\n  cont\nb = 1\nc = 2\n  z\0\nd = 4\n"s, "t.cf");
    CHECK(p.errors == strings{"t.cf:1: NUL byte in line", "t.cf:5: NUL byte in line"});
    REQUIRE(p.entries.size() == 2);
    CHECK(p.entries[0].name == "b");
    CHECK(p.entries[1].name == "d");
}

TEST_CASE("parser: very long lines") {
    std::string value(1 << 20, 'v');
    auto p = parse_config("long = " + value + "\n" + std::string(100000, 'x') + "\n", "t.cf");
    REQUIRE(p.entries.size() == 1);
    CHECK(p.entries[0].value == value);
    REQUIRE(p.errors.size() == 1);
    CHECK(p.errors[0] ==
          "t.cf:2: missing \"=\" after parameter name: \"" + std::string(57, 'x') + "...\"");
}

TEST_CASE("expansion: $name, ${name}, $(name), $$, nesting") {
    auto p = parse_config(
        "a = A\n"
        "b = [$a]\n"
        "c = ${b}.$(a)$a_x\n"
        "a_x = X\n"
        "price = $$5 and $${a}\n"
        "plain = no dollars\n",
        "t.cf");
    REQUIRE(p.errors.empty());
    CHECK(expand_in(p, "b").value == "[A]");
    CHECK(expand_in(p, "c").value == "[A].AX");
    CHECK(expand_in(p, "price").value == "$5 and ${a}");
    CHECK(expand_in(p, "plain").value == "no dollars");
}

TEST_CASE("expansion errors") {
    auto p = parse_config(
        "undef = x $nope y\n"
        "self = $self\n"
        "a = $b\n"
        "b = ${c}\n"
        "c = $a\n"
        "end = x$\n"
        "open = ${a\n"
        "badname = ${a b}\n"
        "dash = $-\n",
        "t.cf");
    REQUIRE(p.errors.empty());
    CHECK(expand_in(p, "undef").error == "undefined parameter \"nope\"");
    CHECK(expand_in(p, "self").error == "loop: self -> self");
    CHECK(expand_in(p, "a").error == "loop: a -> b -> c -> a");
    CHECK(expand_in(p, "end").error ==
          "\"$\" at the end of the value (write \"$$\" for a literal \"$\")");
    CHECK(expand_in(p, "open").error == "missing \"}\" after \"${\"");
    CHECK(expand_in(p, "badname").error == "bad parameter name \"a b\" after \"$\"");
    CHECK(expand_in(p, "dash").error ==
          "\"$\" must be followed by a parameter name, \"{name}\", \"(name)\" or \"$\"");
}

TEST_CASE("expansion: deep chains, exponential growth and size are bounded") {
    std::string chain;
    for (int i = 0; i < 150; ++i) {
        chain += "p" + std::to_string(i) + " = $p" + std::to_string(i + 1) + "\n";
    }
    chain += "p150 = end\n";
    auto deep = parse_config(chain, "t.cf");
    CHECK(expand_in(deep, "p0").error == "nesting deeper than 100 levels");
    CHECK(expand_in(deep, "p60").value == "end");

    // Each level doubles: 2^60 references if unbounded.
    std::string doubling;
    for (int i = 0; i < 60; ++i) {
        doubling += "q" + std::to_string(i) + " = $q" + std::to_string(i + 1) + "$q" +
                    std::to_string(i + 1) + "\n";
    }
    doubling += "q60 =\n";
    auto wide = parse_config(doubling, "t.cf");
    CHECK(expand_in(wide, "q0").error == "more than 1000 parameter references");

    auto big = parse_config("x = 0123456789\ny = $x$x$x$x\n", "t.cf");
    CHECK(expand_in(big, "y", 40).value.size() == 40);
    CHECK(expand_in(big, "y", 39).error == "value longer than 39 bytes after expansion");
}

TEST_CASE("value syntax: good values") {
    CHECK(parse_int("-42") == -42);
    CHECK(parse_int("9223372036854775807") == INT64_MAX);
    for (auto t : {"yes", "YES", "true", "On", "1"}) {
        CHECK(parse_bool(t) == true);
    }
    for (auto f : {"no", "False", "off", "0"}) {
        CHECK(parse_bool(f) == false);
    }
    CHECK(parse_duration("300") == 300s);
    CHECK(parse_duration("300s") == 300s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("1d") == 24h);
    CHECK(parse_duration("1w") == 168h);
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("0") == 0ms);
    CHECK(parse_size("100") == 100u);
    CHECK(parse_size("1k") == 1024u);
    CHECK(parse_size("2K") == 2048u);
    CHECK(parse_size("10m") == 10u << 20);
    CHECK(parse_size("1G") == 1u << 30);
    CHECK(parse_size("1T") == 1ULL << 40);
    CHECK(parse_size("2t") == 2ULL << 40);
    CHECK(parse_mode("0660") == 0660u);
    CHECK(parse_mode("644") == 0644u);
    CHECK(parse_mode("07777") == 07777u);
    CHECK(format_duration(300s) == "5m");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(168h) == "1w");
    CHECK(format_size(1 << 20) == "1m");
    CHECK(format_size(1000) == "1000");
}

TEST_CASE("value syntax: bad values") {
    for (auto s : {"", "+1", "1.5", "0x10", "1k", " 1", "9223372036854775808"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_int(s));
    }
    for (auto s : {"", "y", "2", "enabled"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_bool(s));
    }
    for (auto s : {"", "s", "-5s", "5 s", "5S", "5x", "1.5h", "5sm", "9999999999999999999w"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_duration(s));
    }
    for (auto s :
         {"", "k", "-1", "1kb", "1P", "8388608T", "9223372036854775808", "9007199254740992k"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_size(s));
    }
    for (auto s : {"", "0668", "rw", "10000", "777777777777777777777"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_mode(s));
    }
}

TEST_CASE("load: defaults, typed getters, expansion of defaults") {
    auto r = load_o({});
    REQUIRE(r.errors.empty());
    REQUIRE(r.cfg);
    const auto& c = *r.cfg;
    CHECK(c.get_string("s") == "hello");
    CHECK(c.get_int("n") == 4);
    CHECK(c.get_int("big") == -7);
    CHECK(c.get_bool("b") == false);
    CHECK(c.get_duration("d") == 300s);
    CHECK(c.get_size("z") == 10u << 20);
    CHECK(c.get_list("l") == strings{"a", "b", "c"});
    CHECK(c.get_mode("m") == 0660u);
    CHECK(c.get_string("c") == "mail");
    CHECK(c.get_string("ref") == "hello-4");
    CHECK_FALSE(c.is_set("s"));
    CHECK_THROWS_AS(c.get_int("s"), std::logic_error);
    CHECK_THROWS_AS(c.get_string("l"), std::logic_error);
    CHECK_THROWS_AS(c.get_string("nope"), std::logic_error);
}

TEST_CASE("load: overrides are typed and a reference sees the override") {
    auto r = load_o({"n=256", "b = YES", "d=250ms", "z=1k", "l=x,y", "m=600", "c=DAEMON", "s=$n"});
    REQUIRE(r.errors.empty());
    CHECK(r.cfg->get_int("n") == 256);
    CHECK(r.cfg->get_bool("b"));
    CHECK(r.cfg->get_duration("d") == 250ms);
    CHECK(r.cfg->get_size("z") == 1024u);
    CHECK(r.cfg->get_list("l") == strings{"x", "y"});
    CHECK(r.cfg->get_mode("m") == 0600u);
    CHECK(r.cfg->get_string("c") == "daemon");
    CHECK(r.cfg->get_string("s") == "256");
    CHECK(r.cfg->get_string("ref") == "256-256");
}

TEST_CASE("load: bad values give exact messages") {
    struct bad_case {
        std::string override_text;
        std::string error;
    };

    auto tc = GENERATE(values<bad_case>({
        {"n=0", "-o n=0: bad value for \"n\": \"0\" (expected an integer from 1 to 256)"},
        {"n=x", "-o n=x: bad value for \"n\": \"x\" (expected an integer from 1 to 256)"},
        {"big=1.5", "-o big=1.5: bad value for \"big\": \"1.5\" (expected an integer)"},
        {"b=maybe", "-o b=maybe: bad value for \"b\": \"maybe\" (expected yes or no)"},
        {"d=5x", "-o d=5x: bad value for \"d\": \"5x\" (expected a duration like 300s)"},
        {"dr=500ms",
         "-o dr=500ms: bad value for \"dr\": \"500ms\" (expected a duration from 1s "
         "to 1h)"},
        {"dr=2h", "-o dr=2h: bad value for \"dr\": \"2h\" (expected a duration from 1s to 1h)"},
        {"z=1p", "-o z=1p: bad value for \"z\": \"1p\" (expected a size like 10m)"},
        {"m=0999",
         "-o m=0999: bad value for \"m\": \"0999\" (expected an octal file mode like "
         "0660)"},
        {"c=local7",
         "-o c=local7: bad value for \"c\": \"local7\" (expected one of: mail, "
         "daemon, local0)"},
        {"lookupd_x=$undefined",
         "-o lookupd_x=$undefined: cannot expand \"lookupd_x\": undefined parameter "
         "\"undefined\""},
        {"n", "-o n: missing \"=\" (expected -o name=value)"},
        {"a b=1", "-o a b=1: bad parameter name \"a b\""},
        {"nope=1", "-o nope=1: unknown parameter \"nope\""},
    }));
    CAPTURE(tc.override_text);
    CHECK(one_error({tc.override_text}) == tc.error);
}

TEST_CASE("load: a parameter that refers to a broken one is reported too") {
    auto r = load_o({"s=$undefined"});
    CHECK(r.errors == strings{
                          "(default): cannot expand \"ref\": undefined parameter \"undefined\"",
                          "-o s=$undefined: cannot expand \"s\": undefined parameter \"undefined\"",
                      });
}

TEST_CASE("load: errors do not show secret values given with -o") {
    CHECK(one_error({"pw=pa$word"}) ==
          "-o pw=<hidden>: cannot expand \"pw\": undefined parameter \"word\"");
    CHECK(load_o({"pw=pa$$word"}).errors.empty());
}

TEST_CASE("load: a bad default is reported at (default)") {
    param_table t;
    t.add({.name = "t", .type = param_type::duration, .default_value = "$u"});
    t.add({.name = "u", .default_value = "soon"});
    auto r = load_config(t, {});
    CHECK(r.errors ==
          strings{"(default): bad value for \"t\": \"soon\" (expected a duration like 300s)"});
    auto fixed = load_config(t, {.file = "", .overrides = {"u=1m"}, .foreign_prefixes = {}});
    REQUIRE(fixed.cfg);
    CHECK(fixed.cfg->get_duration("t") == 1min);
}

TEST_CASE("load: file, overrides win, last duplicate wins, all errors reported") {
    temp_file f(
        "s = from file\n"
        "n = 5\n"
        "n = 6\n"
        "d = 1h\n"
        "unknown_one = 1\n"
        "policyd_limit = 10\n"
        "lookupd_x = ours\n"
        "b = perhaps\n"
        "garbage\n");
    auto r = load_config(
        test_table(), {.file = f.path(), .overrides = {"d=2h"}, .foreign_prefixes = {"policyd_"}});
    CHECK_FALSE(r.cfg);
    CHECK(r.errors == strings{
                          f.path() + ":9: missing \"=\" after parameter name: \"garbage\"",
                          f.path() + ":5: unknown parameter \"unknown_one\"",
                          f.path() + ":8: bad value for \"b\": \"perhaps\" (expected yes or no)",
                      });

    temp_file good(
        "s = from file\n"
        "n = 5\n"
        "n = 6\n"
        "d = 1h\n"
        "policyd_limit = 10\n"
        "lookupd_x = ours $policyd_limit\n");
    auto ok =
        load_config(test_table(),
                    {.file = good.path(), .overrides = {"d=2h"}, .foreign_prefixes = {"policyd_"}});
    REQUIRE(ok.errors.empty());
    CHECK(ok.cfg->get_string("s") == "from file");
    CHECK(ok.cfg->get_int("n") == 6);
    CHECK(ok.cfg->get_duration("d") == 2h);
    CHECK(ok.cfg->get_string("lookupd_x") == "ours 10");
    CHECK(ok.cfg->is_set("n"));
    CHECK_FALSE(ok.cfg->is_set("b"));
}

TEST_CASE("load: CRLF file") {
    temp_file f("n = 7\r\nl = a,\r\n  b\r\n");
    auto r = load_config(test_table(), {.file = f.path(), .overrides = {}, .foreign_prefixes = {}});
    REQUIRE(r.errors.empty());
    CHECK(r.cfg->get_int("n") == 7);
    CHECK(r.cfg->get_list("l") == strings{"a", "b"});
}

TEST_CASE("load: missing file") {
    auto r =
        load_config(test_table(),
                    {.file = "/nonexistent/vhostmail.cf", .overrides = {}, .foreign_prefixes = {}});
    CHECK_FALSE(r.cfg);
    CHECK(r.errors == strings{"/nonexistent/vhostmail.cf: cannot open: No such file or directory"});
}

TEST_CASE("dump: all or only non-default, raw values, secrets hidden") {
    auto r = load_o({"n=8", "pw=s3cret", "ref=$s!"});
    REQUIRE(r.cfg);
    CHECK(r.cfg->dump(true) ==
          "n = 8\n"
          "pw = <hidden>\n"
          "ref = $s!\n");
    CHECK(r.cfg->dump(false) ==
          "b = no\n"
          "big = -7\n"
          "c = mail\n"
          "d = 300s\n"
          "dr = 5s\n"
          "l = a, b c\n"
          "lookupd_x = mine\n"
          "m = 0660\n"
          "n = 8\n"
          "pw = <hidden>\n"
          "ref = $s!\n"
          "s = hello\n"
          "z = 10m\n");
}

TEST_CASE("load: a former name sets its parameter, with a warning; the new name wins") {
    param_table t;
    t.add({.name = "propagate",
           .type = param_type::boolean,
           .default_value = "yes",
           .old_names = {"lookupd_propagate"}});
    temp_file f("lookupd_propagate = no\n");
    // Accepted even where its prefix is another daemon's (foreign) prefix.
    auto r = load_config(t, {.file = f.path(), .overrides = {}, .foreign_prefixes = {"lookupd_"}});
    REQUIRE(r.errors.empty());
    CHECK_FALSE(r.cfg->get_bool("propagate"));
    CHECK(r.cfg->is_set("propagate"));
    CHECK(r.warnings ==
          strings{f.path() + ":1: \"lookupd_propagate\" is deprecated; use \"propagate\""});

    temp_file both("propagate = yes\nlookupd_propagate = no\n");
    auto b = load_config(t, {.file = both.path(), .overrides = {}, .foreign_prefixes = {}});
    REQUIRE(b.errors.empty());
    CHECK(b.cfg->get_bool("propagate"));
    CHECK(b.warnings.size() == 1);

    auto bad = load_config(
        t, {.file = "", .overrides = {"lookupd_propagate=maybe"}, .foreign_prefixes = {}});
    CHECK(bad.errors == strings{"-o lookupd_propagate=maybe: bad value for \"propagate\":"
                                " \"maybe\" (expected yes or no)"});

    auto none = load_config(t, {});
    CHECK(none.warnings.empty());
    CHECK(none.cfg->get_bool("propagate"));
}

TEST_CASE("param_table rejects programming errors") {
    param_table t;
    t.add({.name = "a"});
    CHECK_THROWS_AS(t.add({.name = "a"}), std::logic_error);
    CHECK_THROWS_AS(t.add({.name = "b c"}), std::logic_error);
    CHECK_THROWS_AS(t.add({.name = "ch", .type = param_type::choice}), std::logic_error);
    CHECK_THROWS_AS(t.add({.name = "r", .type = param_type::integer, .min = 2, .max = 1}),
                    std::logic_error);
    CHECK_THROWS_AS(t.add({.name = "x", .old_names = {"a"}}), std::logic_error);
    t.add({.name = "y", .old_names = {"old_y"}});
    CHECK_THROWS_AS(t.add({.name = "z", .old_names = {"old_y"}}), std::logic_error);
    CHECK_THROWS_AS(t.add({.name = "old_y"}), std::logic_error);
    CHECK(t.find("a") != nullptr);
    CHECK(t.find("b") == nullptr);
    CHECK(t.renamed("old_y") == t.find("y"));
    CHECK(t.renamed("y") == nullptr);
}

TEST_CASE("common parameters: defaults load and prefixes") {
    param_table t;
    add_common_params(t);
    auto r = load_config(t, {});
    REQUIRE(r.errors.empty());
    const auto& c = *r.cfg;
    CHECK(c.get_list(common::db_hosts) == strings{"localhost"});
    CHECK(c.get_string(common::db_name) == "vhostmail");
    CHECK(c.get_string(common::db_password).empty());
    CHECK(c.get_string(common::db_option_group) == "client");
    CHECK(c.get_string(common::db_charset) == "utf8mb4");
    CHECK(c.get_duration(common::db_connect_timeout) == 5s);
    CHECK(c.get_duration(common::db_retry_interval) == 10s);
    CHECK(c.get_duration(common::db_idle_interval) == 60s);
    CHECK(c.get_int(common::db_pool_size) == 4);
    CHECK(c.get_duration(common::db_lease_timeout) == 2s);
    CHECK(c.get_string(common::syslog_facility) == "mail");
    CHECK(c.get_string(common::recipient_delimiter) == "+");
    CHECK(c.get_bool(common::propagate_unmatched_extensions));
    CHECK(c.dump(true).empty());
    CHECK(daemon_prefixes().size() == 7);
    CHECK(other_daemon_prefixes("lookupd_") ==
          strings{"policyd_", "authd_", "deliver_", "lmtpd_", "milter_", "admin_"});
    auto bad = load_config(t, {.file = "",
                               .overrides = {"db_pool_size=257", "syslog_facility=local8"},
                               .foreign_prefixes = {}});
    CHECK(bad.errors.size() == 2);
}

TEST_CASE("check_local_endpoint: unix sockets and loopback addresses only") {
    using vhostmail::config::check_local_endpoint;
    for (const char* ok : {"", "unix:/run/m.sock", "/run/m.sock", "127.0.0.1:9154",
                           "inet:127.0.0.1:9154", "127.1.2.3:80", "[::1]:9154", "localhost:9154"}) {
        INFO(ok);
        CHECK(check_local_endpoint(ok).empty());
    }
    for (const char* bad : {"0.0.0.0:9154", "192.0.2.1:9154", "[::]:9154", "example.org:9154",
                            ":9154", "[2001:db8::1]:80", "128.0.0.1:80", "[::1"}) {
        INFO(bad);
        CHECK(check_local_endpoint(bad).find("loopback") != std::string::npos);
    }
}
