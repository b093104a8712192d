// SPDX-License-Identifier: Apache-2.0
// image_layout.hh - the fixed blocks of the routing image (routing_image.hh) and the checked
// readers of them that the writer and snapshots share. Internal to lib/vhost.
// Layout, all offsets from the start of the image, blocks 8-byte aligned, host byte order:
//   header   (image_header, at 0)
//   segments (image_segment.hh), buckets and roots, appended in any order
//   root:    root_header, then bucket_count offsets of buckets (0: empty bucket)
//   bucket:  bucket_header, then count entries {hash, name index, segment offset}
// A name's bucket is image_hash(name) & (bucket_count - 1).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lib/vhost/image_segment.hh"

namespace vhostmail::vhost {

inline constexpr char image_magic[8] = {'V', 'H', 'M', 'I', 'M', 'G', '0', '1'};
inline constexpr uint32_t image_format_version = 2;  // 2: domains' role, transport, relayhost
// image_header::state
inline constexpr uint32_t image_db_down = 1u << 0;     // the writer cannot reach the database
inline constexpr uint32_t image_superseded = 1u << 1;  // a newer image replaced this one

inline constexpr uint32_t root_magic = 0x54524856;    // "VHRT"
inline constexpr uint32_t bucket_magic = 0x4b424856;  // "VHBK"

struct image_header {
    char magic[8];
    uint32_t format;
    uint32_t state;   // image_state bits, updated by the writer
    uint64_t root;    // the current version's root (0: none yet); stored last, with release
    uint64_t serial;  // its change serial
    uint64_t used;    // bytes written when it was published
    uint64_t reserved;     // readers map this many bytes: the image never grows beyond
    int64_t confirmed_ns;  // CLOCK_MONOTONIC when the data was last proven current
    uint64_t spare;
};
static_assert(sizeof(image_header) == 64);

struct root_header {
    uint32_t magic;
    uint32_t bucket_count;  // a power of two
    uint64_t serial;
    uint64_t domain_count;
    uint64_t live_bytes;
};

static_assert(sizeof(root_header) == 32);

struct bucket_header {
    uint32_t magic;
    uint32_t count;
};

struct image_bucket_entry {
    uint32_t hash;
    uint32_t name_index;  // 0: the domain's name; i: its alias number i (from 1)
    uint64_t segment;
};

static_assert(sizeof(image_bucket_entry) == 16);

// The segment at `offset` of an image whose first `limit` bytes are valid; nullopt if damaged.
std::optional<domain_segment> segment_view(const uint8_t* base, uint64_t limit, uint64_t offset);
// The root at `offset`; nullopt if damaged.
std::optional<root_header> root_view(const uint8_t* base, uint64_t limit, uint64_t offset);
// The root's bucket offsets; empty if damaged.
std::vector<uint64_t> root_buckets(const uint8_t* base, uint64_t limit, uint64_t root);
// A bucket's entries; nullopt if damaged (offset 0: an empty bucket).
std::optional<std::vector<image_bucket_entry>> bucket_entries(const uint8_t* base, uint64_t limit,
                                                              uint64_t offset);

}  // namespace vhostmail::vhost
