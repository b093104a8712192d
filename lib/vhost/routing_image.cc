// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/routing_image.hh"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

#include "lib/vhost/image_layout.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::vhost {

namespace {

// Files grow in steps, so appending a small segment rarely resizes.
constexpr size_t growth_step = size_t{4} << 20;

size_t align8(size_t n) {
    return (n + 7) & ~size_t{7};
}

[[noreturn]] void fail(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

uint32_t bucket_count_for(size_t names) {
    uint32_t n = 16;
    while (n < names / 4 && n < (1u << 30)) {
        n <<= 1;
    }
    return n;
}

}  // namespace

std::shared_ptr<image_file> image_file::create(size_t reserve, const std::string& path) {
    int fd = -1;
    std::string staging;
    if (path.empty()) {
        fd = memfd_create("vhostmail-routing", MFD_CLOEXEC);
    } else {
        // Written under a name of its own, renamed over `path` once it holds a version.
        staging = path + ".new";
        unlink(staging.c_str());
        fd = open(staging.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        // Readable by the daemons' group whatever the umask (the units set 0077).
        if (fd >= 0 && fchmod(fd, 0640) != 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            fd = -1;
        }
    }
    if (fd < 0) {
        fail(path.empty() ? "memfd_create" : "routing image file");
    }
    void* base = mmap(nullptr, reserve, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (base == MAP_FAILED) {
        int saved = errno;
        close(fd);
        errno = saved;
        fail("mmap");
    }
    std::shared_ptr<image_file> file(new image_file(fd, static_cast<uint8_t*>(base), reserve));
    file->path_ = path;
    file->staging_ = staging;
    image_header h{};
    std::memcpy(h.magic, image_magic, sizeof(h.magic));
    h.format = image_format_version;
    h.reserved = reserve;
    file->append({reinterpret_cast<const char*>(&h), sizeof(h)});
    return file;
}

std::shared_ptr<const image_file> image_file::open_read_only(const std::string& path,
                                                             std::string& error) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return nullptr;
    }
    image_header h{};

    struct stat st {};

    if (fstat(fd, &st) != 0 || pread(fd, &h, sizeof(h), 0) != static_cast<ssize_t>(sizeof(h)) ||
        std::memcmp(h.magic, image_magic, sizeof(h.magic)) != 0 ||
        h.format != image_format_version || h.reserved < sizeof(h) ||
        h.reserved > (size_t{1} << 46)) {
        error = path + ": not a routing image of this version";
        close(fd);
        return nullptr;
    }
    void* base = mmap(nullptr, h.reserved, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
    close(fd);  // the mapping keeps the file
    if (base == MAP_FAILED) {
        error = path + ": mmap: " + std::strerror(errno);
        return nullptr;
    }
    std::shared_ptr<image_file> file(new image_file(-1, static_cast<uint8_t*>(base), h.reserved));
    file->path_ = path;
    file->inode_ = st.st_ino;
    file->device_ = st.st_dev;
    return file;
}

image_file::image_file(int fd, uint8_t* base, size_t reserve)
    : fd_(fd), base_(base), reserve_(reserve) {}

image_file::~image_file() {
    munmap(base_, reserve_);
    if (fd_ >= 0) {
        close(fd_);
    }
}

image_header* image_file::header() const {
    return reinterpret_cast<image_header*>(base_);
}

uint64_t image_file::published_root() const {
    return std::atomic_ref<uint64_t>(header()->root).load(std::memory_order_acquire);
}

uint64_t image_file::published_used() const {
    return std::atomic_ref<uint64_t>(header()->used).load(std::memory_order_relaxed);
}

int64_t image_file::confirmed_ns() const {
    return std::atomic_ref<int64_t>(header()->confirmed_ns).load(std::memory_order_relaxed);
}

uint32_t image_file::state() const {
    return std::atomic_ref<uint32_t>(header()->state).load(std::memory_order_relaxed);
}

void image_file::confirm(int64_t monotonic_ns, bool db_down) {
    std::atomic_ref<int64_t>(header()->confirmed_ns).store(monotonic_ns, std::memory_order_relaxed);
    std::atomic_ref<uint32_t> state(header()->state);
    if (db_down) {
        state.fetch_or(image_db_down, std::memory_order_relaxed);
    } else {
        state.fetch_and(~image_db_down, std::memory_order_relaxed);
    }
}

void image_file::supersede() {
    std::atomic_ref<uint32_t>(header()->state)
        .fetch_or(image_superseded, std::memory_order_release);
}

void image_file::install() {
    if (staging_.empty()) {
        return;
    }
    if (rename(staging_.c_str(), path_.c_str()) != 0) {
        fail("routing image rename");
    }
    staging_.clear();
}

uint64_t image_file::append(std::string_view bytes) {
    size_t at = align8(used_);
    size_t end = at + bytes.size();
    if (end > reserve_) {
        errno = ENOSPC;
        fail("routing image reservation");
    }
    if (end > file_size_) {
        size_t size =
            std::min(reserve_, std::max(end, file_size_ + std::max(growth_step, file_size_ / 8)));
        if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
            fail("routing image ftruncate");
        }
        file_size_ = size;
    }
    std::memcpy(base_ + at, bytes.data(), bytes.size());
    used_ = end;
    return at;
}

void image_file::publish(uint64_t root, uint64_t serial) {
    auto* h = reinterpret_cast<image_header*>(base_);
    std::atomic_ref<uint64_t>(h->used).store(used_, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(h->serial).store(serial, std::memory_order_relaxed);
    std::atomic_ref<uint64_t>(h->root).store(root, std::memory_order_release);
}

void image_writer::start_full() {
    if (file_ && !retired_) {
        retired_ = file_;
    }
    file_.reset();
    segments_.clear();
    pending_.clear();
    root_ = 0;
    live_bytes_ = 0;
    names_ = 0;
}

void image_writer::ensure_image() {
    if (!file_) {
        new_image(reserve_);
    }
}

void image_writer::new_image(size_t reserve) {
    if (file_ && !retired_) {
        retired_ = file_;
    }
    try {
        file_ = image_file::create(reserve, path_);
        publish_error_.clear();
    } catch (const std::system_error& e) {
        // Unpublished, the copy still serves this process; the readers' copies age and they
        // say so. Never the reason for this process to answer temporary failures.
        publish_error_ = path_ + ": " + e.what();
        file_ = image_file::create(reserve);
    }
    reserve_ = reserve;
}

void image_writer::confirm(int64_t monotonic_ns, bool db_down) {
    auto& published = retired_ ? retired_ : file_;  // a new image is not installed yet
    if (published) {
        published->confirm(monotonic_ns, db_down);
    }
}

std::optional<domain_segment> image_writer::segment(uint64_t offset) const {
    return segment_view(file_->base(), file_->used(), offset);
}

size_t image_writer::segment_bytes(uint64_t offset) const {
    auto seg = segment(offset);
    return seg ? align8(seg->bytes().size()) : 0;
}

bool image_writer::put(const domain_data& d) {
    return put(d.domain.id, encode_domain(d));
}

bool image_writer::put(uint64_t domain_id, std::string_view seg) {
    if (seg.empty()) {
        return false;
    }
    ensure_image();
    if (!fits(seg.size())) {
        // The reservation is full: move the live data into a larger image first.
        move_to(std::max(reserve_ * 2, file_->used() + seg.size() * 4));
    }
    pending_.push_back({domain_id, file_->append(seg)});
    return true;
}

bool image_writer::fits(size_t more) const {
    return file_->used() + more + index_bytes() + (size_t{1} << 20) <= file_->reserved();
}

void image_writer::remove(uint64_t domain_id) {
    pending_.push_back({domain_id, 0});
}

std::vector<std::pair<uint32_t, uint32_t>> image_writer::names_of(uint64_t offset) const {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    auto seg = segment(offset);
    if (!seg) {
        return out;  // written by this writer: cannot be damaged
    }
    out.emplace_back(image_hash(seg->domain().name), 0);
    if (auto aliases = seg->aliases()) {
        uint32_t i = 1;
        for (auto a : *aliases) {
            out.emplace_back(image_hash(a), i++);
        }
    }
    return out;
}

uint64_t image_writer::write_bucket(const std::vector<image_bucket_entry>& entries) {
    if (entries.empty()) {
        return 0;
    }
    std::string block(sizeof(bucket_header) + entries.size() * sizeof(image_bucket_entry), '\0');
    bucket_header h{bucket_magic, static_cast<uint32_t>(entries.size())};
    std::memcpy(block.data(), &h, sizeof(h));
    std::memcpy(block.data() + sizeof(h), entries.data(),
                entries.size() * sizeof(image_bucket_entry));
    return file_->append(block);
}

std::shared_ptr<const snapshot> image_writer::write_root(const std::vector<uint64_t>& buckets,
                                                         uint64_t serial) {
    std::string block(sizeof(root_header) + buckets.size() * sizeof(uint64_t), '\0');
    root_header h{root_magic, static_cast<uint32_t>(buckets.size()), serial, segments_.size(),
                  live_bytes_ + index_bytes()};
    std::memcpy(block.data(), &h, sizeof(h));
    std::memcpy(block.data() + sizeof(h), buckets.data(), buckets.size() * sizeof(uint64_t));
    root_ = file_->append(block);
    file_->publish(root_, serial);
    if (retired_) {
        // The first version of a new image: it takes the old one's place at the path.
        file_->confirm(retired_->confirmed_ns(), retired_->state() & image_db_down);
    }
    file_->install();  // once per image; nothing for a memory file
    if (retired_) {
        retired_->supersede();
        retired_.reset();
    }
    return std::make_shared<const snapshot>(file_, root_, file_->used());
}

size_t image_writer::index_bytes() const {
    return names_ * sizeof(image_bucket_entry) + size_t{bucket_count_} * 8 * 2;
}

void image_writer::move_to(size_t reserve) {
    auto from = file_;
    new_image(reserve);
    auto copy = [&](uint64_t& offset) {
        auto seg = segment_view(from->base(), from->used(), offset);
        offset = seg ? file_->append(seg->bytes()) : 0;
    };
    for (auto& entry : segments_) {
        copy(entry.second);
    }
    for (auto& p : pending_) {
        if (p.segment != 0) {
            copy(p.segment);
        }
    }
    root_ = 0;  // the index is written again in the new image by the next commit
}

std::shared_ptr<const snapshot> image_writer::write_index(uint64_t serial) {
    names_ = 0;
    live_bytes_ = 0;
    std::vector<std::pair<uint64_t, std::vector<std::pair<uint32_t, uint32_t>>>> named;
    named.reserve(segments_.size());
    for (const auto& [id, offset] : segments_) {
        named.emplace_back(offset, names_of(offset));
        names_ += named.back().second.size();
        live_bytes_ += segment_bytes(offset);
    }
    bucket_count_ = bucket_count_for(names_);
    std::vector<std::vector<image_bucket_entry>> by_bucket(bucket_count_);
    for (const auto& [offset, names] : named) {
        for (const auto& [hash, index] : names) {
            by_bucket[hash & (bucket_count_ - 1)].push_back({hash, index, offset});
        }
    }
    std::vector<uint64_t> buckets(bucket_count_);
    for (uint32_t b = 0; b < bucket_count_; ++b) {
        buckets[b] = write_bucket(by_bucket[b]);
    }
    return write_root(buckets, serial);
}

bool image_writer::needs_compaction() const {
    size_t live = live_bytes_ + index_bytes();
    return file_->used() > 2 * live + (size_t{16} << 20) || names_ > size_t{16} * bucket_count_ ||
           (bucket_count_ > 16 && names_ * 16 < bucket_count_);
}

std::shared_ptr<const snapshot> image_writer::commit(uint64_t serial) {
    ensure_image();
    // The last pending change of each domain wins. In ascending ids, so that a full load's
    // inserts all go to the end of segments_ (in any other order, each moves half of it).
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const pending& a, const pending& b) { return a.id < b.id; });
    std::vector<std::pair<uint64_t, uint64_t>> last;  // domain id -> segment (0: removed)
    for (const auto& p : pending_) {
        if (!last.empty() && last.back().first == p.id) {
            last.back().second = p.segment;
        } else {
            last.emplace_back(p.id, p.segment);
        }
    }
    pending_.clear();
    std::unordered_set<uint64_t> replaced;  // segments no longer current
    std::vector<uint64_t> added;
    for (const auto& [id, offset] : last) {
        auto it = std::lower_bound(
            segments_.begin(), segments_.end(), id,
            [](const std::pair<uint64_t, uint64_t>& e, uint64_t key) { return e.first < key; });
        bool present = it != segments_.end() && it->first == id;
        if (present) {
            replaced.insert(it->second);
        }
        if (offset == 0) {
            if (present) {
                segments_.erase(it);
            }
        } else if (present) {
            it->second = offset;
            added.push_back(offset);
        } else {
            segments_.insert(it, {id, offset});
            added.push_back(offset);
        }
    }
    if (root_ == 0) {
        return write_index(serial);  // first version of this image
    }

    // Only the buckets that the old and the new names fall in are written again.
    std::vector<uint64_t> buckets = root_buckets(file_->base(), file_->used(), root_);
    std::unordered_map<uint32_t, std::vector<image_bucket_entry>> touched;
    auto bucket = [&](uint32_t hash) -> std::vector<image_bucket_entry>& {
        uint32_t b = hash & (bucket_count_ - 1);
        auto [it, fresh] = touched.try_emplace(b);
        if (fresh) {
            for (const auto& e : bucket_entries(file_->base(), file_->used(), buckets[b])
                                     .value_or(std::vector<image_bucket_entry>{})) {
                if (!replaced.contains(e.segment)) {
                    it->second.push_back(e);
                }
            }
        }
        return it->second;
    };
    for (uint64_t old : replaced) {
        for (const auto& [hash, index] : names_of(old)) {
            bucket(hash);
            --names_;
        }
        live_bytes_ -= std::min(live_bytes_, segment_bytes(old));
    }
    for (uint64_t offset : added) {
        for (const auto& [hash, index] : names_of(offset)) {
            bucket(hash).push_back({hash, index, offset});
            ++names_;
        }
        live_bytes_ += segment_bytes(offset);
    }
    if (needs_compaction() || !fits(0)) {
        move_to(std::max(reserve_, (live_bytes_ + index_bytes()) * 4));
        return write_index(serial);
    }
    for (const auto& [b, entries] : touched) {
        buckets[b] = write_bucket(entries);
    }
    return write_root(buckets, serial);
}

}  // namespace vhostmail::vhost
