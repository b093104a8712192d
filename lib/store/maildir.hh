// SPDX-License-Identifier: Apache-2.0
// maildir.hh - durable Maildir delivery (docs/protocols.md section 9.3).
// Sequence: an unnamed file in tmp/ (O_TMPFILE, 0600) -> write everything -> fsync -> link into
// new/<unique> (never overwrites) -> fsync new/ (shared with concurrent deliveries to the same
// Maildir: directory_sync.hh). Where tmp/ cannot hold unnamed files, or they cannot be linked
// (no /proc), the classic way: tmp/<unique> O_CREAT|O_EXCL|O_NOFOLLOW -> write -> fsync -> link
// into new/ -> fsync new/ -> unlink the tmp name.
// Only after deliver() returned ok is the message in new/; any failure unlinks what it wrote and
// returns an error, which the caller reports as a temporary failure. A crash at any point leaves
// nothing in new/ that is not complete; at worst a named file in tmp/ (removed by clean_tmp after
// 36 hours), or, unnamed, nothing at all.
// Unique name: <sec>.M<usec>P<pid>Q<count>R<random>.<host>,S=<size>,W=<rfc822 size>.
// Thread safety: a maildir object is used by one thread; what is process wide (the file name
// counter, the unnamed-file switch, the shared new/ fsyncs, the tmp/ scan times) is safe to
// share. The test hooks fire again when a message falls back to the named way.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>

#include "lib/core/unique_fd.hh"

namespace vhostmail::store {

struct maildir_error {
    int error = 0;       // errno; 0 = none
    std::string what;    // "write tmp/...: No space left on device"
    bool ok() const { return error == 0 && what.empty(); }
};

// Pure: the host name as a Maildir name part ('/' -> \057, ':' -> \072, '.'-free start).
std::string maildir_host(std::string_view host);

// Pure: RFC822.SIZE of LF text: size plus one per bare LF (W=).
uint64_t rfc822_size(std::string_view prefix, std::string_view body);

class maildir {
public:
    // Test hook: called with "tmp-written", "synced", "linked" at those points (may _exit).
    using hook = std::function<void(std::string_view stage)>;

    // Opens (creating with 0700 when `create`) the Maildir directory `dir_fd` and its
    // tmp/ new/ cur/. Errors leave ok() false with the reason in error().
    maildir(unique_fd dir_fd, bool create);

    bool ok() const { return error_.ok(); }
    const maildir_error& error() const { return error_; }
    int dir_fd() const { return dir_.get(); }

    // Writes prefix + body as one new message. Returns the file name in new/ or an error.
    struct delivered {
        maildir_error error;
        std::string name;
        uint64_t size = 0;
        // Set on the one delivery that switched the process to named tmp/ files: why the
        // unnamed way was refused (for the caller to log once).
        std::string switched_to_named;
    };
    delivered deliver(std::string_view prefix, std::string_view body, std::string_view host,
                      const hook& on_stage = {});

    // false: always the classic named tmp/ file (tests; a file system that misbehaves with
    // O_TMPFILE). Process wide; true is the default and is turned off by itself where
    // unnamed files are refused.
    static void use_unnamed_tmp_files(bool use);
    static bool unnamed_tmp_files_in_use();

    // Removes files in tmp/ not modified for `max_age` seconds. Returns how many.
    unsigned clean_tmp(std::time_t now, std::time_t max_age = 36 * 3600);

    // True when this process has not scanned this Maildir's tmp/ for `interval` seconds
    // (and records the scan as done now). A long-running daemon thus reads tmp/ about once an
    // hour per Maildir instead of on every delivery, where the directory read would queue
    // behind the creates and unlinks of concurrent deliveries. A file is still removed at the
    // first delivery after it is 36 + 1 hours old. Thread safe; remembers at most 65536
    // Maildirs (then forgets all, which only costs extra scans).
    bool tmp_scan_due(std::time_t now, std::time_t interval = 3600);

private:
    static std::string unique_name(uint64_t size, uint64_t wsize, std::string_view host);
    delivered deliver_unnamed(std::string_view prefix, std::string_view body, uint64_t wsize,
                              std::string_view host, const hook& on_stage, bool& fall_back);
    delivered deliver_named(std::string_view prefix, std::string_view body, uint64_t wsize,
                            std::string_view host, const hook& on_stage);

    unique_fd dir_, tmp_, new_, cur_;
    maildir_error error_;
};

}  // namespace vhostmail::store
