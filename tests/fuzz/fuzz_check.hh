// SPDX-License-Identifier: Apache-2.0
// fuzz_check.hh - invariant checks for fuzz targets: print what failed and abort(), so libFuzzer
// records a crash and the replay runner fails, in every build type (assert() vanishes in NDEBUG).
#pragma once

#include <cstdio>
#include <cstdlib>

// A macro, so that the message names the failing expression and line.
#define VHOSTMAIL_FUZZ_CHECK(cond)                                                            \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)
