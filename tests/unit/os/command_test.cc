// SPDX-License-Identifier: Apache-2.0
#include "lib/os/command.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::os;
using strings = std::vector<std::string>;

TEST_CASE("command lines split without a shell", "[command]") {
    CHECK(split_command("/usr/bin/foo -a  b") == strings{"/usr/bin/foo", "-a", "b"});
    CHECK(split_command("/x 'a b' \"c \\\" d\" e\\ f") == strings{"/x", "a b", "c \" d", "e f"});
    CHECK(split_command("/x '$(rm -rf /)' ;|&") == strings{"/x", "$(rm -rf /)", ";|&"});
    CHECK(split_command("") == strings{});
    CHECK_FALSE(split_command("/x 'open"));
    CHECK_FALSE(split_command("/x \\"));
}

TEST_CASE("%d %u %f are replaced inside argv elements only", "[command]") {
    tokens t{"example.com", "joe", "bob@x; rm -rf / `id` $(id)"};
    CHECK(substitute_tokens({"/bin/x", "--to=%u@%d", "%f", "100%%", "%z", "%"}, t) ==
          strings{"/bin/x", "--to=joe@example.com", "bob@x; rm -rf / `id` $(id)", "100%", "%z",
                  "%"});
    // A value with spaces stays one argument; nothing is re-split.
    auto out = substitute_tokens({"%f"}, {"", "", "a b c"});
    CHECK(out.size() == 1);
}

TEST_CASE("programs: input, output, exit status, time limit, output bound", "[command]") {
    program_options o;
    o.max_output = 1 << 20;
    auto cat = run_program({"/bin/cat"}, "hello\n", o);
    CHECK(cat.what == program_result::kind::exited);
    CHECK(cat.status == 0);
    CHECK(cat.output == "hello\n");

    std::string big(300000, 'x');
    auto cat_big = run_program({"/bin/cat"}, big, o);
    CHECK(cat_big.output == big);

    auto st = run_program({"/bin/sh", "-c", "exit 75"}, "", o);
    CHECK(st.what == program_result::kind::exited);
    CHECK(st.status == 75);

    auto env = run_program({"/usr/bin/env"}, "", o);
    CHECK(env.output.find("PATH=") != std::string::npos);
    CHECK(env.output.find("HOME=") == std::string::npos);

    program_options quick = o;
    quick.time_limit = std::chrono::milliseconds(300);
    auto slow = run_program({"/bin/sleep", "10"}, "", quick);
    CHECK(slow.what == program_result::kind::timed_out);

    program_options small = o;
    small.max_output = 10;
    auto chatty = run_program({"/bin/cat"}, std::string(1000, 'y'), small);
    CHECK(chatty.what == program_result::kind::output_too_big);

    auto missing = run_program({"/nonexistent/x"}, "", o);
    CHECK(missing.what != program_result::kind::exited);
    auto relative = run_program({"cat"}, "", o);
    CHECK(relative.what == program_result::kind::failed);

    auto ignores_input = run_program({"/bin/true"}, std::string(1 << 20, 'z'), o);
    CHECK(ignores_input.what == program_result::kind::exited);
    CHECK(ignores_input.status == 0);
}
