// SPDX-License-Identifier: Apache-2.0
// aliases_file.hh - parser for the alias files admins migrate from. Pure: no I/O.
//   aliases(5):  name: value, value ...      (# comments; lines starting with blanks continue)
//   virtual(5):  pattern value, value ...    (pattern and values separated by blanks/commas)
// Values that are not addresses (|command, /file, :include:) are reported as errors: the
// importer refuses them rather than guessing.
// Limits: at most 1 MiB of text, 1000 values per entry, 320 bytes per value.
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::proto {

enum class alias_format { aliases, virtual_table };

struct alias_entry {
    std::string key;                        // as written, lower-cased: "user", "user@dom", "@dom"
    std::vector<std::string> destinations;  // as written (addresses or bare local parts)
    unsigned line = 0;                      // where the entry starts
};

struct alias_file {
    std::vector<alias_entry> entries;
    std::vector<std::string> errors;  // "line N: message"
};

inline constexpr size_t alias_file_max_size = 1 << 20;

alias_file parse_alias_file(std::string_view text, alias_format format);

}  // namespace vhostmail::proto
