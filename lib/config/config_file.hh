// SPDX-License-Identifier: Apache-2.0
// config_file.hh - parser for Postfix main.cf syntax, and $name expansion. Pure: no I/O, no
// logging. Grammar (Postfix main.cf(5), readlline(3)):
//   line      = logical line start: first character is not blank; "name = value"
//   " ", TAB  = a line that starts with blank space continues the previous logical line; the
//               pieces are joined with one space
//   "#"       = a line whose first non-blank character is "#" is a comment; comment and blank
//               lines are skipped, also inside a continued logical line
//   name      = 1*(ALPHA / DIGIT / "_"); whitespace around "=" and at the end is dropped
//   CRLF line endings are accepted. A NUL byte in a line is an error.
// Expansion (at lookup time, Postfix mac_expand(3)): "$name", "${name}" and "$(name)" insert the
// expanded value of another parameter; "$$" is a literal "$". An undefined name, a loop, nesting
// deeper than max_expansion_depth, more than max_expansion_references references, or a result over
// the size limit is an error (the limits keep hostile input from hanging or crashing the parser).
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::config {

// One "name = value" setting, with the place where its logical line started.
struct config_entry {
    std::string name;
    std::string value;  // raw, unexpanded
    std::string file;
    int line = 0;
};

struct parsed_config {
    std::vector<config_entry> entries;  // in file order; duplicates kept (the last one wins)
    std::vector<std::string> errors;    // "file:line: message", in file order
};

// Parses `text` (the whole file). Lines that are not "name = value" become errors; parsing goes
// on after an error so that every error is reported. `file_name` is used only in messages.
parsed_config parse_config(std::string_view text, std::string_view file_name);

// Is `name` a well-formed parameter name (letters, digits, underscore; not empty)?
bool valid_param_name(std::string_view name);

inline constexpr size_t max_expansion_depth = 100;            // Postfix mac_expand's limit
inline constexpr size_t max_expansion_references = 1000;      // per expand_value call
inline constexpr size_t default_max_expanded_size = 1 << 20;  // bytes

// Returns the raw (unexpanded) value of a parameter, or nullopt when it is not defined.
using raw_value_fn = std::function<std::optional<std::string>(std::string_view name)>;

struct expansion {
    std::string value;  // the expanded value when error is empty
    std::string error;  // e.g. `undefined parameter "foo"`, `loop: a -> b -> a`

    bool ok() const { return error.empty(); }
};

// Expands the value of parameter `name` (whose raw value is `raw`), resolving references through
// `lookup` recursively. `name` takes part in loop detection ("a = $a" is an error).
expansion expand_value(std::string_view name, std::string_view raw, const raw_value_fn& lookup,
                       size_t max_size = default_max_expanded_size);

// Makes untrusted text safe to quote in an error message (the caller adds the quotes): control
// bytes become '?', and text longer than `max` bytes is cut and ends in "...".
std::string safe_excerpt(std::string_view text, size_t max = 60);

}  // namespace vhostmail::config
