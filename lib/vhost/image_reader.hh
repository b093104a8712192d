// SPDX-License-Identifier: Apache-2.0
// image_reader.hh - the routing image another process (vhostmail-lookupd) publishes in a file,
// mapped read-only: one copy of the routing data per host instead of one per daemon.
// docs/architecture.md "One copy per host".
//
// The writer stamps the image with the time (CLOCK_MONOTONIC, the same clock in every process
// of the host) its data was last proven current and whether it can reach the database; a
// reader applies its own staleness rules to that stamp, exactly as to a copy of its own. When
// the writer replaces the file (compaction, a restart), the old one says so (superseded) or
// simply stops being confirmed, and the reader opens the new one.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "lib/vhost/routing_image.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::vhost {

class image_reader {
public:
    using clock = std::chrono::steady_clock;

    struct version {
        std::shared_ptr<const snapshot> snap;  // null: no readable image (yet)
        clock::time_point confirmed_at;        // when the writer last proved it current
        bool db_down = false;                  // the writer cannot reach the database
    };

    explicit image_reader(std::string path) : path_(std::move(path)) {}

    // The image's current version.
    version current();

private:
    void reopen_if_needed(clock::time_point now);

    std::mutex mutex_;
    const std::string path_;
    std::shared_ptr<const image_file> file_;
    uint64_t root_ = 0;
    std::shared_ptr<const snapshot> snap_;
    clock::time_point last_look_{};
    std::string last_error_;
};

}  // namespace vhostmail::vhost
