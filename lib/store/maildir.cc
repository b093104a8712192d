// SPDX-License-Identifier: Apache-2.0
#include "lib/store/maildir.hh"

#include <atomic>
#include <cstring>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <random>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>

#include "lib/store/directory_sync.hh"
#include "lib/store/fsync_timing.hh"

namespace vhostmail::store {

namespace {

std::atomic<uint64_t> delivery_counter{0};
std::atomic<bool> unnamed_tmp_usable{true};

maildir_error sys_error(int err, std::string what) {
    return {err == 0 ? EIO : err, what + ": " + std::strerror(err == 0 ? EIO : err)};
}

unique_fd open_sub(int dir, const char* name, bool create, maildir_error& e) {
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dir, name, flags);
    if (fd < 0 && errno == ENOENT && create) {
        if (::mkdirat(dir, name, 0700) != 0) {
            if (errno != EEXIST) {
                e = sys_error(errno, std::string("mkdir ") + name);
                return {};
            }
        } else {
            ::fsync(dir);
        }
        fd = ::openat(dir, name, flags);
    }
    if (fd < 0) {
        e = sys_error(errno, std::string("open ") + name);
        return {};
    }
    return unique_fd(fd);
}

uint64_t random64() {
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return gen();
}

bool write_all(int fd, std::string_view a, std::string_view b, maildir_error& e) {
    while (!a.empty() || !b.empty()) {
        iovec iov[2] = {{const_cast<char*>(a.data()), a.size()},
                        {const_cast<char*>(b.data()), b.size()}};
        ssize_t n = ::writev(fd, iov, 2);
        if (n < 0) {
            const int err = errno;
            if (err == EINTR) {
                continue;
            }
            e = sys_error(err, "write");
            return false;
        }
        size_t done = static_cast<size_t>(n);
        size_t from_a = std::min(done, a.size());
        a.remove_prefix(from_a);
        b.remove_prefix(std::min(done - from_a, b.size()));
    }
    return true;
}

// Writes prefix + body to the new file `fd` and fsyncs it (hooks "tmp-written", "synced").
maildir_error write_synced(int fd, std::string_view prefix, std::string_view body,
                           const std::string& what, const maildir::hook& on_stage) {
    maildir_error e;
    if (!write_all(fd, prefix, body, e)) {
        e.what = what + ": " + e.what;
        return e;
    }
    if (on_stage) {
        on_stage("tmp-written");
    }
    if (const int err = timed_fsync(fd, "file"); err != 0) {
        return sys_error(err, "fsync " + what);
    }
    if (on_stage) {
        on_stage("synced");
    }
    return {};
}

// Makes `name`, just linked into new/, durable; if that fails it is taken out again, so that
// nothing stays in new/ that was not acknowledged.
maildir_error sync_or_unlink(int new_fd, const std::string& name) {
    if (int err = shared_directory_syncer().sync(new_fd); err != 0) {
        ::unlinkat(new_fd, name.c_str(), 0);
        return sys_error(err, "fsync new/");
    }
    return {};
}

}  // namespace

std::string maildir_host(std::string_view host) {
    std::string out;
    for (char c : host) {
        if (c == '/') {
            out += "\\057";
        } else if (c == ':') {
            out += "\\072";
        } else if (static_cast<unsigned char>(c) < 0x20 || c == ',') {
            out += '_';
        } else {
            out += c;
        }
    }
    if (out.empty()) {
        out = "localhost";
    }
    return out;
}

uint64_t rfc822_size(std::string_view prefix, std::string_view body) {
    uint64_t n = prefix.size() + body.size();
    for (auto part : {prefix, body}) {
        for (size_t i = 0; i < part.size(); ++i) {
            if (part[i] == '\n' && (i == 0 || part[i - 1] != '\r')) {
                ++n;
            }
        }
    }
    return n;
}

maildir::maildir(unique_fd dir_fd, bool create) : dir_(std::move(dir_fd)) {
    if (!dir_) {
        error_ = {EBADF, "no Maildir directory"};
        return;
    }
    tmp_ = open_sub(dir_.get(), "tmp", create, error_);
    if (tmp_) {
        new_ = open_sub(dir_.get(), "new", create, error_);
    }
    if (new_) {
        cur_ = open_sub(dir_.get(), "cur", create, error_);
    }
}

void maildir::use_unnamed_tmp_files(bool use) {
    unnamed_tmp_usable = use;
}

bool maildir::unnamed_tmp_files_in_use() {
    return unnamed_tmp_usable;
}

std::string maildir::unique_name(uint64_t size, uint64_t wsize, std::string_view host) {
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    char rnd[17];
    std::snprintf(rnd, sizeof rnd, "%016llx", static_cast<unsigned long long>(random64()));
    return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" +
           std::to_string(::getpid()) + "Q" + std::to_string(++delivery_counter) + "R" + rnd + "." +
           maildir_host(host) + ",S=" + std::to_string(size) + ",W=" + std::to_string(wsize);
}

maildir::delivered maildir::deliver(std::string_view prefix, std::string_view body,
                                    std::string_view host, const hook& on_stage) {
    if (!ok()) {
        return {error_, {}, 0, {}};
    }
    const uint64_t wsize = rfc822_size(prefix, body);
    if (!unnamed_tmp_usable.load(std::memory_order_relaxed)) {
        return deliver_named(prefix, body, wsize, host, on_stage);
    }
    bool fall_back = false;
    delivered d = deliver_unnamed(prefix, body, wsize, host, on_stage, fall_back);
    if (!fall_back) {
        return d;
    }
    // The file system or a sandbox refused the unnamed file or its link: this message the
    // classic way, and all later ones too once that worked (the refusal was not a fluke of a
    // Maildir removed under us).
    std::string refused = d.error.what;
    d = deliver_named(prefix, body, wsize, host, on_stage);
    if (d.error.ok() && unnamed_tmp_usable.exchange(false)) {
        d.switched_to_named = std::move(refused);
    }
    return d;
}

// tmp/ through an O_TMPFILE: the file has no name until it is linked into new/, so a crash
// leaves nothing behind in tmp/, and neither the fsync of the file (which on ext4 without a
// journal also writes out the directory of a newly named file) nor the create and unlink touch
// tmp/, which concurrent deliveries to the Maildir would otherwise queue on.
maildir::delivered maildir::deliver_unnamed(std::string_view prefix, std::string_view body,
                                            uint64_t wsize, std::string_view host,
                                            const hook& on_stage, bool& fall_back) {
    delivered d;
    d.size = prefix.size() + body.size();
    unique_fd fd(::openat(tmp_.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (!fd) {
        const int err = errno;
        fall_back = err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
        d.error = sys_error(err, "create a file in tmp/");
        return d;
    }
    if (d.error = write_synced(fd.get(), prefix, body, "tmp/", on_stage); !d.error.ok()) {
        return d;
    }
    // Linking an unnamed file needs /proc, or CAP_DAC_READ_SEARCH for AT_EMPTY_PATH.
    const std::string self = "/proc/self/fd/" + std::to_string(fd.get());
    for (int attempt = 0; attempt < 5 && d.name.empty(); ++attempt) {
        std::string name = unique_name(d.size, wsize, host);
        bool linked =
            ::linkat(AT_FDCWD, self.c_str(), new_.get(), name.c_str(), AT_SYMLINK_FOLLOW) == 0;
        int err = linked ? 0 : errno;
        if (!linked && err != EEXIST) {
            linked = ::linkat(fd.get(), "", new_.get(), name.c_str(), AT_EMPTY_PATH) == 0;
            err = linked ? 0 : errno;
        }
        if (linked) {
            d.name = std::move(name);
        } else if (err != EEXIST) {
            fall_back = true;  // no /proc, a sandbox, or new/ itself: the named way will tell
            d.error = sys_error(err, "link into new/");
            return d;
        }
    }
    if (d.name.empty()) {
        d.error = {EEXIST, "cannot find a unique name in new/"};
        return d;
    }
    if (on_stage) {
        on_stage("linked");
    }
    if (d.error = sync_or_unlink(new_.get(), d.name); !d.error.ok()) {
        d.name.clear();
    }
    return d;
}

maildir::delivered maildir::deliver_named(std::string_view prefix, std::string_view body,
                                          uint64_t wsize, std::string_view host,
                                          const hook& on_stage) {
    delivered d;
    d.size = prefix.size() + body.size();
    std::string tmp_name;
    unique_fd fd;
    for (int attempt = 0; attempt < 5 && !fd; ++attempt) {
        tmp_name = unique_name(d.size, wsize, host);
        int f = ::openat(tmp_.get(), tmp_name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0) {
            fd.reset(f);
        } else if (const int err = errno; err != EEXIST) {
            d.error = sys_error(err, "create tmp/" + tmp_name);
            return d;
        }
    }
    if (!fd) {
        d.error = {EEXIST, "cannot find a unique name in tmp/"};
        return d;
    }
    auto fail = [&](maildir_error e) {
        ::unlinkat(tmp_.get(), tmp_name.c_str(), 0);
        d.error = std::move(e);
        return d;
    };
    if (auto e = write_synced(fd.get(), prefix, body, "tmp/" + tmp_name, on_stage); !e.ok()) {
        return fail(e);
    }
    if (::close(fd.release()) != 0) {
        const int err = errno;
        return fail(sys_error(err, "close tmp/" + tmp_name));
    }
    if (::linkat(tmp_.get(), tmp_name.c_str(), new_.get(), tmp_name.c_str(), 0) != 0) {
        const int err = errno;
        return fail(sys_error(err, "link new/" + tmp_name));
    }
    if (on_stage) {
        on_stage("linked");
    }
    if (auto e = sync_or_unlink(new_.get(), tmp_name); !e.ok()) {
        return fail(e);
    }
    ::unlinkat(tmp_.get(), tmp_name.c_str(), 0);
    d.name = tmp_name;
    return d;
}

bool maildir::tmp_scan_due(std::time_t now, std::time_t interval) {
    struct stat st {};

    if (!tmp_ || ::fstat(tmp_.get(), &st) != 0) {
        return true;
    }

    struct scans {
        std::mutex mutex;
        std::map<std::pair<dev_t, ino_t>, std::time_t> last;
    };

    static auto* const state = new scans;  // never destroyed: no exit-time destructor races a user
    std::lock_guard lock(state->mutex);
    auto& last_scan = state->last;
    if (last_scan.size() >= 65536) {
        last_scan.clear();
    }
    auto [it, inserted] = last_scan.try_emplace({st.st_dev, st.st_ino}, now);
    if (inserted) {
        return true;
    }
    if (now - it->second < interval && now >= it->second) {
        return false;
    }
    it->second = now;
    return true;
}

unsigned maildir::clean_tmp(std::time_t now, std::time_t max_age) {
    if (!tmp_) {
        return 0;
    }
    int fd = ::openat(tmp_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        ::close(fd);
        return 0;
    }
    unsigned removed = 0;
    while (dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] == '.') {
            continue;
        }

        struct stat st {};

        if (::fstatat(tmp_.get(), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode)) {
            continue;
        }
        if (now - st.st_mtime > max_age && ::unlinkat(tmp_.get(), ent->d_name, 0) == 0) {
            ++removed;
        }
    }
    ::closedir(d);
    return removed;
}

}  // namespace vhostmail::store
