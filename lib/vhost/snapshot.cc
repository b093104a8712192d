// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot.hh"

#include <cstring>

#include "lib/vhost/image_layout.hh"
#include "lib/vhost/routing_image.hh"

namespace vhostmail::vhost {

namespace {

template <typename T>
std::optional<T> read_at(const uint8_t* base, uint64_t limit, uint64_t offset) {
    if (offset == 0 || offset > limit || limit - offset < sizeof(T) || offset % 8 != 0) {
        return std::nullopt;
    }
    T v;
    std::memcpy(&v, base + offset, sizeof(T));
    return v;
}

constexpr char corrupt_text[] = "routing image damaged";

}  // namespace

std::optional<domain_segment> segment_view(const uint8_t* base, uint64_t limit, uint64_t offset) {
    if (offset == 0 || offset % 8 != 0 || offset > limit || limit - offset < 8) {
        return std::nullopt;
    }
    uint32_t size;
    std::memcpy(&size, base + offset + 4, sizeof(size));
    if (limit - offset < size) {
        return std::nullopt;
    }
    return domain_segment::open({reinterpret_cast<const char*>(base + offset), size});
}

std::optional<root_header> root_view(const uint8_t* base, uint64_t limit, uint64_t offset) {
    auto h = read_at<root_header>(base, limit, offset);
    if (!h || h->magic != root_magic || h->bucket_count == 0 ||
        (h->bucket_count & (h->bucket_count - 1)) != 0 ||
        (limit - offset - sizeof(root_header)) / 8 < h->bucket_count) {
        return std::nullopt;
    }
    return h;
}

std::vector<uint64_t> root_buckets(const uint8_t* base, uint64_t limit, uint64_t root) {
    auto h = root_view(base, limit, root);
    if (!h) {
        return {};
    }
    std::vector<uint64_t> out(h->bucket_count);
    std::memcpy(out.data(), base + root + sizeof(root_header), out.size() * sizeof(uint64_t));
    return out;
}

namespace {

// The entries of the bucket at `offset` in place (none for offset 0); false when damaged.
bool bucket_span(const uint8_t* base, uint64_t limit, uint64_t offset, const uint8_t*& first,
                 uint32_t& count) {
    count = 0;
    if (offset == 0) {
        return true;
    }
    auto h = read_at<bucket_header>(base, limit, offset);
    if (!h || h->magic != bucket_magic ||
        (limit - offset - sizeof(bucket_header)) / sizeof(image_bucket_entry) < h->count) {
        return false;
    }
    first = base + offset + sizeof(bucket_header);
    count = h->count;
    return true;
}

}  // namespace

std::optional<std::vector<image_bucket_entry>> bucket_entries(const uint8_t* base, uint64_t limit,
                                                              uint64_t offset) {
    const uint8_t* first = nullptr;
    uint32_t count = 0;
    if (!bucket_span(base, limit, offset, first, count)) {
        return std::nullopt;
    }
    std::vector<image_bucket_entry> out(count);
    if (count > 0) {
        std::memcpy(out.data(), first, count * sizeof(image_bucket_entry));
    }
    return out;
}

snapshot::snapshot(std::shared_ptr<const image_file> file, uint64_t root, uint64_t limit)
    : file_(std::move(file)), root_(root), limit_(limit) {}

uint64_t snapshot::serial() const {
    auto h = root_view(file_->base(), limit_, root_);
    return h ? h->serial : 0;
}

uint64_t snapshot::domain_count() const {
    auto h = root_view(file_->base(), limit_, root_);
    return h ? h->domain_count : 0;
}

uint64_t snapshot::live_bytes() const {
    auto h = root_view(file_->base(), limit_, root_);
    return h ? h->live_bytes : 0;
}

std::optional<domain_segment> snapshot::segment_at(uint64_t offset) const {
    return segment_view(file_->base(), limit_, offset);
}

snapshot::found snapshot::find_domain(std::string_view name, domain_segment& out) const {
    const uint8_t* base = file_->base();
    auto h = root_view(base, limit_, root_);
    if (!h) {
        return found::corrupt;
    }
    uint32_t hash = image_hash(name);
    uint64_t bucket;
    std::memcpy(&bucket, base + root_ + sizeof(root_header) + (hash & (h->bucket_count - 1)) * 8,
                sizeof(bucket));
    const uint8_t* entries = nullptr;
    uint32_t count = 0;
    if (!bucket_span(base, limit_, bucket, entries, count)) {
        return found::corrupt;
    }
    for (uint32_t i = 0; i < count; ++i) {
        image_bucket_entry e;
        std::memcpy(&e, entries + i * sizeof(e), sizeof(e));
        if (e.hash != hash) {
            continue;
        }
        auto seg = segment_at(e.segment);
        if (!seg) {
            return found::corrupt;
        }
        std::string_view candidate;
        if (e.name_index == 0) {
            candidate = seg->domain().name;
        } else {
            auto aliases = seg->aliases();
            if (!aliases || e.name_index > aliases->size()) {
                return found::corrupt;
            }
            auto it = aliases->begin();
            for (uint32_t n = 1; n < e.name_index; ++n) {
                ++it;
            }
            candidate = *it;
        }
        if (candidate == name) {
            out = *seg;
            return found::yes;
        }
    }
    return found::no;
}

bool snapshot::for_each_domain(const std::function<void(const domain_segment&)>& fn) const {
    const uint8_t* base = file_->base();
    auto h = root_view(base, limit_, root_);
    if (!h) {
        return false;
    }
    for (uint32_t b = 0; b < h->bucket_count; ++b) {
        uint64_t bucket;
        std::memcpy(&bucket, base + root_ + sizeof(root_header) + size_t{b} * 8, sizeof(bucket));
        const uint8_t* entries = nullptr;
        uint32_t count = 0;
        if (!bucket_span(base, limit_, bucket, entries, count)) {
            return false;
        }
        for (uint32_t i = 0; i < count; ++i) {
            image_bucket_entry e;
            std::memcpy(&e, entries + i * sizeof(e), sizeof(e));
            if (e.name_index != 0) {
                continue;  // each domain once, by its own name
            }
            auto seg = segment_at(e.segment);
            if (!seg) {
                return false;
            }
            fn(*seg);
        }
    }
    return true;
}

snapshot::found snapshot_directory::segment_of(const domain_view& domain, domain_segment& out) {
    // Views of this snapshot's domains point into their segments: the same name bytes, the
    // same segment.
    if (!last_.bytes().empty() && last_.domain().name.data() == domain.name.data()) {
        out = last_;
        return snapshot::found::yes;
    }
    auto f = snap_->find_domain(domain.name, out);
    if (f == snapshot::found::yes) {
        last_ = out;
    }
    return f;
}

lookup<domain_view> snapshot_directory::find_domain(std::string_view name) {
    domain_segment seg;
    switch (snap_->find_domain(name, seg)) {
        case snapshot::found::yes:
            last_ = seg;
            return lookup<domain_view>::found(last_.domain());
        case snapshot::found::no:
            return lookup<domain_view>::not_found();
        case snapshot::found::corrupt:
            break;
    }
    return lookup<domain_view>::temp_fail(corrupt_text);
}

namespace {

lookup<address_view> address_answer(domain_segment::found f, const address_view& a) {
    switch (f) {
        case domain_segment::found::yes:
            return lookup<address_view>::found(a);
        case domain_segment::found::no:
            return lookup<address_view>::not_found();
        case domain_segment::found::corrupt:
            break;
    }
    return lookup<address_view>::temp_fail(corrupt_text);
}

}  // namespace

lookup<address_view> snapshot_directory::find_in_segment(
    const domain_view& domain, std::string_view key,
    domain_segment::found (domain_segment::*find)(std::string_view, address_view&) const) {
    domain_segment seg;
    auto f = segment_of(domain, seg);
    if (f != snapshot::found::yes) {
        return f == snapshot::found::no ? lookup<address_view>::not_found()
                                        : lookup<address_view>::temp_fail(corrupt_text);
    }
    address_view a;
    return address_answer((seg.*find)(key, a), a);
}

lookup<address_view> snapshot_directory::find_address(const domain_view& domain,
                                                      std::string_view local_part) {
    return find_in_segment(domain, local_part, &domain_segment::find_address);
}

lookup<address_view> snapshot_directory::find_full_name(const domain_view& domain,
                                                        std::string_view normalized) {
    return find_in_segment(domain, normalized, &domain_segment::find_full_name);
}

lookup<std::vector<std::string>> snapshot_directory::sender_grants(const domain_view& domain,
                                                                   std::string_view local_part) {
    using result_t = lookup<std::vector<std::string>>;
    std::vector<std::string> logins;
    domain_segment seg;
    auto f = segment_of(domain, seg);
    if (f == snapshot::found::no) {
        return result_t::found(std::move(logins));
    }
    if (f == snapshot::found::corrupt || !seg.sender_grants(local_part, logins)) {
        return result_t::temp_fail(corrupt_text);
    }
    return result_t::found(std::move(logins));
}

}  // namespace vhostmail::vhost
