// SPDX-License-Identifier: Apache-2.0
// quota.hh - Maildir++ quota: the maildirsize file as Courier and Dovecot keep it
// (docs/protocols.md section 9.5), so IMAP clients served by Dovecot see the same usage.
//   line 1: "<bytes>S,<count>C" (0 or a missing type = unlimited)
//   then:   "<bytes> <count>" per delivery/removal (may be negative), summed for the usage.
// Recalculated (scan of new/ and cur/ of the Maildir and all its folders, .Trash included as
// Dovecot's maildir quota backend counts it, using ,S= from the names, else stat) when the file
// is missing, >= 5120 bytes, has negative sums, its limits differ from the database's, or it
// says "over quota" with more than one usage line or an mtime >= 15 minutes old. The pure
// parts (parse, decide, format) are separate from the I/O.
// Thread safety: reentrant; concurrent appends are atomic (O_APPEND, one write).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace vhostmail::store {

inline constexpr size_t maildirsize_recalc_size = 5120;
inline constexpr std::time_t maildirsize_recalc_age = 15 * 60;

struct quota_limits {
    uint64_t bytes = 0;     // 0: unlimited
    uint64_t messages = 0;  // 0: unlimited
    bool unlimited() const { return bytes == 0 && messages == 0; }
    bool operator==(const quota_limits&) const = default;
};

struct quota_usage {
    int64_t bytes = 0;
    int64_t messages = 0;
};

struct maildirsize_file {
    quota_limits limits;
    quota_usage usage;
    size_t usage_lines = 0;
};

// Pure: parses the file's text; nullopt when the header line is malformed (then recalculate).
std::optional<maildirsize_file> parse_maildirsize(std::string_view text);

// Pure: "<bytes>S,<count>C\n".
std::string format_quota_header(const quota_limits& limits);

// Pure: "<bytes> <count>\n".
std::string format_usage_line(int64_t bytes, int64_t messages);

// Pure: would adding one message of `size` bytes exceed the limits?
bool exceeds(const quota_limits& limits, const quota_usage& usage, uint64_t size);

// Pure: the recalculation rule above. `file` nullopt = missing or unparsable.
bool needs_recalc(const std::optional<maildirsize_file>& file, size_t file_size,
                  std::time_t file_age, const quota_limits& wanted);

// Pure: the message size from a Maildir file name's ",S=<n>" part, if present.
std::optional<uint64_t> size_from_name(std::string_view name);

struct quota_read {
    quota_usage usage;
    bool recalculated = false;
    int error = 0;  // errno of a failure (reading or scanning); usage is then unknown
    std::string what;
};

// Reads maildirsize in the Maildir `dir_fd`, recalculating (and rewriting it with `limits`)
// when the rule says so.
quota_read read_quota(int dir_fd, const quota_limits& limits, std::time_t now);

// Pure scan helper exposed for tests: sums new/ and cur/ of the Maildir and all its folders.
quota_read scan_maildir(int dir_fd);

// Appends one usage line (one write, O_APPEND). Missing file: nothing (next read recalculates).
int append_usage(int dir_fd, int64_t bytes, int64_t messages);

}  // namespace vhostmail::store
