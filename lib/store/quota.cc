// SPDX-License-Identifier: Apache-2.0
#include "lib/store/quota.hh"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <random>

#include "lib/core/unique_fd.hh"

namespace vhostmail::store {

namespace {

std::optional<int64_t> parse_i64(std::string_view s) {
    int64_t v = 0;
    if (s.empty()) {
        return std::nullopt;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::string_view next_field(std::string_view& s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) {
        s = {};
        return {};
    }
    s.remove_prefix(b);
    size_t e = s.find_first_of(" \t");
    std::string_view f = s.substr(0, e);
    s.remove_prefix(e == std::string_view::npos ? s.size() : e);
    return f;
}

constexpr size_t max_maildirsize_read = 1 << 20;

}  // namespace

std::optional<maildirsize_file> parse_maildirsize(std::string_view text) {
    maildirsize_file f;
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
        return std::nullopt;  // a header line is always newline-terminated
    }
    std::string_view header = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    while (!header.empty()) {
        size_t comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header.remove_prefix(comma == std::string_view::npos ? header.size() : comma + 1);
        if (item.empty()) {
            continue;
        }
        char type = item.back();
        auto n = parse_i64(type >= '0' && type <= '9' ? item : item.substr(0, item.size() - 1));
        if (!n || *n < 0) {
            return std::nullopt;
        }
        if (type == 'S' || (type >= '0' && type <= '9')) {
            f.limits.bytes = static_cast<uint64_t>(*n);
        } else if (type == 'C') {
            f.limits.messages = static_cast<uint64_t>(*n);
        } else {
            return std::nullopt;
        }
    }
    while (!text.empty()) {
        nl = text.find('\n');
        if (nl == std::string_view::npos) {
            break;  // a partial last line: an append in progress; ignore it
        }
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        auto b = parse_i64(next_field(line));
        auto c = parse_i64(next_field(line));
        if (!b || !c) {
            continue;
        }
        f.usage.bytes += *b;
        f.usage.messages += *c;
        ++f.usage_lines;
    }
    return f;
}

std::string format_quota_header(const quota_limits& limits) {
    return std::to_string(limits.bytes) + "S," + std::to_string(limits.messages) + "C\n";
}

std::string format_usage_line(int64_t bytes, int64_t messages) {
    return std::to_string(bytes) + " " + std::to_string(messages) + "\n";
}

bool exceeds(const quota_limits& limits, const quota_usage& usage, uint64_t size) {
    uint64_t used_bytes = usage.bytes < 0 ? 0 : static_cast<uint64_t>(usage.bytes);
    uint64_t used_messages = usage.messages < 0 ? 0 : static_cast<uint64_t>(usage.messages);
    if (limits.bytes != 0 && (used_bytes >= limits.bytes || size > limits.bytes - used_bytes)) {
        return true;
    }
    return limits.messages != 0 && used_messages >= limits.messages;
}

bool needs_recalc(const std::optional<maildirsize_file>& file, size_t file_size,
                  std::time_t file_age, const quota_limits& wanted) {
    if (!file || file_size >= maildirsize_recalc_size) {
        return true;
    }
    if (file->usage.bytes < 0 || file->usage.messages < 0 || !(file->limits == wanted)) {
        return true;
    }
    bool over = (wanted.bytes != 0 && static_cast<uint64_t>(file->usage.bytes) > wanted.bytes) ||
                (wanted.messages != 0 &&
                 static_cast<uint64_t>(file->usage.messages) > wanted.messages);
    return over && (file->usage_lines > 1 || file_age >= maildirsize_recalc_age);
}

std::optional<uint64_t> size_from_name(std::string_view name) {
    size_t colon = name.find(':');
    name = name.substr(0, colon);
    size_t pos = name.find(",S=");
    if (pos == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view digits = name.substr(pos + 3);
    digits = digits.substr(0, digits.find(','));
    auto v = parse_i64(digits);
    if (!v || *v < 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(*v);
}

namespace {

// Adds the messages of directory `name` (new or cur) beneath `dir_fd`; returns false on error.
bool sum_dir(int dir_fd, const char* name, quota_read& r, std::time_t& newest) {
    int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return true;
        }
        r.error = errno;
        r.what = std::string("open ") + name + ": " + std::strerror(errno);
        return false;
    }
    struct stat dst {};
    if (::fstat(fd, &dst) == 0 && dst.st_mtime > newest) {
        newest = dst.st_mtime;
    }
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
        r.error = errno;
        ::close(fd);
        return false;
    }
    while (dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] == '.') {
            continue;
        }
        auto size = size_from_name(ent->d_name);
        if (!size) {
            struct stat st {};
            if (::fstatat(::dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                !S_ISREG(st.st_mode)) {
                continue;  // vanished (moved by a reader) or not a message
            }
            size = static_cast<uint64_t>(st.st_size);
        }
        r.usage.bytes += static_cast<int64_t>(*size);
        r.usage.messages += 1;
    }
    ::closedir(d);
    return true;
}

quota_read scan(int dir_fd, std::time_t& newest) {
    quota_read r;
    if (!sum_dir(dir_fd, "new", r, newest) || !sum_dir(dir_fd, "cur", r, newest)) {
        return r;
    }
    int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
    if (d == nullptr) {
        if (fd >= 0) {
            ::close(fd);
        }
        return r;
    }
    while (dirent* ent = ::readdir(d)) {
        // Every folder, .Trash too: Dovecot's maildir quota counts what its quota_rule does not
        // exclude, and by default that is nothing. A recalculation that left Trash out (as
        // Courier does) would disagree with the lines Dovecot appends when mail is moved to or
        // expunged from Trash, and let a full mailbox grow by whatever sits in Trash.
        std::string_view n = ent->d_name;
        if (n.size() < 2 || n[0] != '.' || n == "..") {
            continue;
        }
        int sub = ::openat(dir_fd, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            continue;
        }
        unique_fd sub_fd(sub);
        if (!sum_dir(sub, "new", r, newest) || !sum_dir(sub, "cur", r, newest)) {
            break;
        }
    }
    ::closedir(d);
    return r;
}

}  // namespace

quota_read scan_maildir(int dir_fd) {
    std::time_t newest = 0;
    return scan(dir_fd, newest);
}

quota_read read_quota(int dir_fd, const quota_limits& limits, std::time_t now) {
    std::optional<maildirsize_file> file;
    size_t file_size = 0;
    std::time_t age = 0;
    int fd = ::openat(dir_fd, "maildirsize", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        unique_fd f(fd);
        struct stat st {};
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            static_cast<size_t>(st.st_size) < max_maildirsize_read) {
            std::string text(static_cast<size_t>(st.st_size), '\0');
            ssize_t n = ::pread(fd, text.data(), text.size(), 0);
            if (n >= 0) {
                text.resize(static_cast<size_t>(n));
                file = parse_maildirsize(text);
                file_size = text.size();
                age = now - st.st_mtime;
            }
        }
    } else if (errno != ENOENT) {
        return {{}, false, errno, std::string("open maildirsize: ") + std::strerror(errno)};
    }
    if (!needs_recalc(file, file_size, age, limits)) {
        return {file->usage, false, 0, {}};
    }
    std::time_t before = 0;
    quota_read r = scan(dir_fd, before);
    if (r.error != 0) {
        return r;
    }
    r.recalculated = true;
    std::string name = "tmp/maildirsize." + std::to_string(::getpid()) + "." +
                       std::to_string(std::random_device{}());
    int out = ::openat(dir_fd, name.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        return r;  // usage known; the file is rewritten next time
    }
    unique_fd o(out);
    std::string text = format_quota_header(limits) + format_usage_line(r.usage.bytes,
                                                                       r.usage.messages);
    // Written even when deliveries ran during the scan: refusing to (Courier deletes the file)
    // makes every delivery to a busy mailbox rescan it. The error is bounded by the deliveries
    // in flight and corrected at the next recalculation.
    if (::write(out, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
        ::renameat(dir_fd, name.c_str(), dir_fd, "maildirsize") == 0) {
        return r;
    }
    ::unlinkat(dir_fd, name.c_str(), 0);
    return r;
}

int append_usage(int dir_fd, int64_t bytes, int64_t messages) {
    int fd = ::openat(dir_fd, "maildirsize", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 0 : errno;
    }
    unique_fd f(fd);
    std::string line = format_usage_line(bytes, messages);
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        return errno == 0 ? EIO : errno;
    }
    return 0;
}

}  // namespace vhostmail::store
