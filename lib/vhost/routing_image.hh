// SPDX-License-Identifier: Apache-2.0
// routing_image.hh - the routing data as one compact, append-only image in memory: a header,
// one immutable segment per domain (image_segment.hh), and per version a small index ("root")
// of buckets that map every domain and domain alias name to its segment. A refresh appends the
// segments of the changed domains, new copies of only the buckets their names fall in, and a
// new root, then publishes the root; every version stays readable until the image is dropped,
// so a snapshot (snapshot.hh) is just (image, root) and needs no lock. When the appended
// garbage outgrows the live data, the writer copies the live segments into a fresh image.
//
// The image lives in a memory file (memfd) mapped MAP_SHARED, so the same bytes could be
// mapped by other processes; offsets, never pointers, link its parts. docs/architecture.md
// "The routing image" gives the layout and the sizes.
// Thread safety: image_writer is used by one thread (the refresher); an image_file is read by
// any thread through snapshots, while the writer appends beyond what they read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

#include "lib/vhost/image_layout.hh"
#include "lib/vhost/image_segment.hh"

namespace vhostmail::vhost {

// One mapped image. Snapshots keep it alive; it is unmapped when the last one goes.
class image_file {
public:
    // A new, empty image for writing: in an anonymous memory file, or (path set) in the file
    // `path`.new, which install() renames to `path`. `reserve` bytes of address space are mapped
    // up front (nothing is allocated until written). Throws std::system_error.
    static std::shared_ptr<image_file> create(size_t reserve, const std::string& path = "");
    // The image another process writes at `path`, mapped read-only; null (and `error`) when it
    // is missing or not an image of this version.
    static std::shared_ptr<const image_file> open_read_only(const std::string& path,
                                                            std::string& error);
    ~image_file();
    image_file(const image_file&) = delete;
    image_file& operator=(const image_file&) = delete;

    const uint8_t* base() const { return base_; }

    size_t used() const { return used_; }  // writer only

    size_t reserved() const { return reserve_; }

    dev_t device() const { return device_; }  // read-only mappings: the file they map

    ino_t inode() const { return inode_; }

    // What the writer published last (any process).
    uint64_t published_root() const;
    uint64_t published_used() const;
    int64_t confirmed_ns() const;
    uint32_t state() const;  // image_state bits (image_layout.hh)

    // Writer only: copies `bytes` to the end (8-byte aligned) and returns its offset. Throws
    // std::system_error when the reservation is exceeded or the memory file cannot grow.
    uint64_t append(std::string_view bytes);
    // Writer only: makes `root` the current version (stored in the header for other mappers).
    void publish(uint64_t root, uint64_t serial);
    // Writer only: the data was proven current at `monotonic_ns` (CLOCK_MONOTONIC), or the
    // database cannot be reached (the time stays).
    void confirm(int64_t monotonic_ns, bool db_down);
    // Writer only: a newer image replaced this one at the path; readers should open it.
    void supersede();
    // Writer only: renames the file to its path (nothing for a memory file).
    void install();

private:
    image_file(int fd, uint8_t* base, size_t reserve);
    image_header* header() const;

    int fd_;
    uint8_t* base_;
    size_t reserve_;
    size_t file_size_ = 0;
    size_t used_ = 0;
    std::string path_;
    std::string staging_;
    dev_t device_ = 0;
    ino_t inode_ = 0;
};

class snapshot;

// Builds and updates the image: the loader puts and removes domains, then commits a version.
// Throws std::system_error when memory for the image cannot be had (the refresh fails; the
// versions already published stay valid).
class image_writer {
public:
    // `path`: also publish every version in that file for other processes (image_reader);
    // "": in memory only.
    explicit image_writer(size_t reserve = size_t{8} << 30, std::string path = "")
        : reserve_(reserve), path_(std::move(path)) {}

    // Starts over in a new image (a full load): every domain must be put again.
    void start_full();
    // Adds or replaces the domain (by id). False when it cannot be stored (a domain over the
    // 4 GiB segment limit): the refresh fails, the previous version stays.
    bool put(const domain_data& d);
    // The same with the domain's segment encoded already (encode_domain; "" = cannot be).
    bool put(uint64_t domain_id, std::string_view segment);
    void remove(uint64_t domain_id);

    // Forgets the puts and removes since the last commit.
    void discard() { pending_.clear(); }

    // Publishes the changes since the last commit as a new version.
    std::shared_ptr<const snapshot> commit(uint64_t serial);

    size_t live_bytes() const { return live_bytes_; }

    // Tells readers of the published image how current it is (image_file::confirm).
    void confirm(int64_t monotonic_ns, bool db_down);

    // Why the current image could not be published in its file ("" when it is, or none is
    // wanted): the image then lives in memory only.
    const std::string& publish_error() const { return publish_error_; }

private:
    struct pending {
        uint64_t id;
        uint64_t segment;  // 0: removed
    };

    void ensure_image();
    bool fits(size_t more) const;
    std::optional<domain_segment> segment(uint64_t offset) const;
    size_t segment_bytes(uint64_t offset) const;
    std::vector<std::pair<uint32_t, uint32_t>> names_of(uint64_t segment) const;  // hash, index
    uint64_t write_bucket(const std::vector<image_bucket_entry>& entries);
    std::shared_ptr<const snapshot> write_root(const std::vector<uint64_t>& buckets,
                                               uint64_t serial);
    std::shared_ptr<const snapshot> write_index(uint64_t serial);
    void move_to(size_t reserve);
    size_t index_bytes() const;
    bool needs_compaction() const;

    void new_image(size_t reserve);

    size_t reserve_;
    std::string path_;
    std::shared_ptr<image_file> file_;
    std::shared_ptr<image_file> retired_;  // the installed image until its successor is
    std::string publish_error_;
    std::vector<std::pair<uint64_t, uint64_t>> segments_;  // domain id -> segment, by id
    std::vector<pending> pending_;
    uint64_t root_ = 0;  // the published root of file_ (0: none yet)
    uint32_t bucket_count_ = 0;
    size_t live_bytes_ = 0;  // bytes of the current segments
    size_t names_ = 0;       // names (domains and aliases) in the index
};

}  // namespace vhostmail::vhost
