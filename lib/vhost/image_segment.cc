// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/image_segment.hh"

#include <cstring>
#include <limits>
#include <span>
#include <unordered_map>

namespace vhostmail::vhost {

namespace {

// Segment header: fixed fields in host byte order (the image never leaves the host).
constexpr uint32_t segment_magic = 0x53444856;  // "VHDS"

struct header {
    uint32_t magic;
    uint32_t size;
    uint64_t version;
    uint32_t address_count;
    uint32_t index_slots;  // power of two (0 without addresses); slot: {hash, record offset}
    uint32_t index_off;
    uint32_t
        fullname_slots;  // slot: {hash, entry offset}; entry: key, record offset (0: ambiguous)
    uint32_t fullname_off;
    uint32_t domain_off;   // the domain record
    uint32_t aliases_off;  // count, names
    uint32_t grants_off;   // groups: local part, count, logins
    uint32_t admins_off;   // count, logins
    uint32_t records_off;  // address records, one after another
    uint32_t records_end;
    uint32_t reserved;
};

static_assert(sizeof(header) == 64);

struct slot {
    uint32_t hash;
    uint32_t offset;  // 0: empty
};

// Record flags.
enum : uint8_t {
    a_enabled = 1 << 0,
    a_mailbox = 1 << 1,
    a_password = 1 << 2,
    a_maildir = 1 << 3,
    a_full_name = 1 << 4,
    a_quota_bytes = 1 << 5,
    a_quota_messages = 1 << 6,
    a_vacation = 1 << 7,
};

enum : uint8_t {  // third byte
    a_transport = 1 << 0,
};

enum : uint8_t {  // second byte: logins in the low four bits
    a_vacation_enabled = 1 << 4,
    a_vacation_starts = 1 << 5,
    a_vacation_ends = 1 << 6,
    a_forwards = 1 << 7,
};

enum : uint8_t {
    d_enabled = 1 << 0,
    d_accepts_mail = 1 << 1,
    d_fullname_matching = 1 << 2,
    d_quota_bytes = 1 << 3,
    d_quota_messages = 1 << 4,
    d_max_message_size = 1 << 5,
    d_backup = 1 << 6,
};

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

void put_signed(std::string& out, int64_t v) {
    put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_str(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out += s;
}

template <typename T>
void put_at(std::string& out, size_t at, const T& v) {
    std::memcpy(out.data() + at, &v, sizeof(v));
}

// Reads encoded values; any read past the end makes ok() false and returns zero values.
class cursor {
public:
    cursor(const uint8_t* at, const uint8_t* end) : at_(at), end_(end) {}

    bool ok() const { return ok_; }

    const uint8_t* at() const { return at_; }

    const uint8_t* end() const { return end_; }

    uint8_t byte() {
        if (at_ >= end_) {
            ok_ = false;
            return 0;
        }
        return *at_++;
    }

    uint64_t varint() {
        uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            uint8_t b = byte();
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                return v;
            }
        }
        ok_ = false;
        return 0;
    }

    int64_t signed_varint() {
        uint64_t u = varint();
        return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    }

    std::string_view str() {
        uint64_t n = varint();
        if (!ok_ || n > static_cast<uint64_t>(end_ - at_)) {
            ok_ = false;
            return {};
        }
        std::string_view s(reinterpret_cast<const char*>(at_), n);
        at_ += n;
        return s;
    }

    // `count` strings, checked, as a packed list.
    packed_strings strings(uint64_t count) {
        const uint8_t* first = at_;
        if (count > static_cast<uint64_t>(end_ - at_)) {  // each takes at least one byte
            ok_ = false;
            return {};
        }
        for (uint64_t i = 0; i < count && ok_; ++i) {
            str();
        }
        return ok_ ? packed_strings(first, at_, static_cast<uint32_t>(count)) : packed_strings();
    }

private:
    const uint8_t* at_;
    const uint8_t* end_;
    bool ok_ = true;
};

const uint8_t* bytes_of(std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data());
}

}  // namespace

void encode_domain_record(const domain_record& d, std::string& out) {
    uint8_t flags = (d.enabled ? d_enabled : 0) | (d.accepts_mail ? d_accepts_mail : 0) |
                    (d.fullname_matching ? d_fullname_matching : 0) |
                    (d.quota_bytes ? d_quota_bytes : 0) |
                    (d.quota_messages ? d_quota_messages : 0) |
                    (d.max_message_size ? d_max_message_size : 0) | (d.backup ? d_backup : 0);
    out += static_cast<char>(flags);
    out += static_cast<char>(d.logins & 0x0f);
    put_varint(out, d.id);
    for (const auto& v : {d.quota_bytes, d.quota_messages, d.max_message_size}) {
        if (v) {
            put_varint(out, *v);
        }
    }
    put_str(out, d.name);
    put_str(out, d.reject_text);
    put_str(out, d.fallback);
    put_str(out, d.filter_command);
    put_str(out, d.transport);
    put_str(out, d.relayhost);
}

namespace {

bool decode_domain(cursor& c, domain_view& d) {
    uint8_t flags = c.byte();
    d.logins = c.byte() & 0x0f;
    d.id = c.varint();
    d.enabled = flags & d_enabled;
    d.accepts_mail = flags & d_accepts_mail;
    d.fullname_matching = flags & d_fullname_matching;
    d.quota_bytes = flags & d_quota_bytes ? std::optional(c.varint()) : std::nullopt;
    d.quota_messages = flags & d_quota_messages ? std::optional(c.varint()) : std::nullopt;
    d.max_message_size = flags & d_max_message_size ? std::optional(c.varint()) : std::nullopt;
    d.name = c.str();
    d.reject_text = c.str();
    d.fallback = c.str();
    d.filter_command = c.str();
    d.backup = flags & d_backup;
    d.transport = c.str();
    d.relayhost = c.str();
    return c.ok();
}

}  // namespace

namespace {

template <typename Forwards>
void encode_address(const address_record& a, std::string_view domain_name, const Forwards& forwards,
                    std::string& out) {
    bool own_maildir = a.mailbox && !a.maildir.empty() &&
                       !is_default_maildir(a.maildir, domain_name, a.local_part);
    const auto& v = a.vacation;
    uint8_t f1 = (a.enabled ? a_enabled : 0) | (a.mailbox ? a_mailbox : 0) |
                 (a.has_password ? a_password : 0) | (own_maildir ? a_maildir : 0) |
                 (!a.full_name.empty() ? a_full_name : 0) | (a.quota_bytes ? a_quota_bytes : 0) |
                 (a.quota_messages ? a_quota_messages : 0) | (v ? a_vacation : 0);
    uint8_t f2 = static_cast<uint8_t>(a.logins & 0x0f) |
                 (v && v->enabled ? a_vacation_enabled : 0) |
                 (v && v->starts_at ? a_vacation_starts : 0) |
                 (v && v->ends_at ? a_vacation_ends : 0) | (!forwards.empty() ? a_forwards : 0);
    out += static_cast<char>(f1);
    out += static_cast<char>(f2);
    out += static_cast<char>(!a.transport.empty() ? a_transport : 0);
    put_varint(out, a.id);
    put_str(out, a.local_part);
    if (own_maildir) {
        put_str(out, a.maildir);
    }
    if (!a.full_name.empty()) {
        put_str(out, a.full_name);
    }
    if (a.quota_bytes) {
        put_varint(out, *a.quota_bytes);
    }
    if (a.quota_messages) {
        put_varint(out, *a.quota_messages);
    }
    if (v && v->starts_at) {
        put_signed(out, *v->starts_at);
    }
    if (v && v->ends_at) {
        put_signed(out, *v->ends_at);
    }
    if (!forwards.empty()) {
        put_varint(out, forwards.size());
        for (const auto& f : forwards) {
            put_str(out, f);
        }
    }
    if (!a.transport.empty()) {
        put_str(out, a.transport);
    }
}

}  // namespace

void encode_address_record(const address_record& a, std::string_view domain_name,
                           std::string& out) {
    encode_address(a, domain_name, a.forwards, out);
}

void encode_address_record(const address_record& a, std::string_view domain_name,
                           std::span<const std::string_view> forwards, std::string& out) {
    encode_address(a, domain_name, forwards, out);
}

namespace {

bool decode_address(cursor& c, std::string_view domain_name, address_view& a) {
    uint8_t f1 = c.byte();
    uint8_t f2 = c.byte();
    uint8_t f3 = c.byte();
    a.id = c.varint();
    a.domain_name = domain_name;
    a.local_part = c.str();
    a.enabled = f1 & a_enabled;
    a.mailbox = f1 & a_mailbox;
    a.has_password = f1 & a_password;
    a.logins = f2 & 0x0f;
    a.stored_maildir = f1 & a_maildir ? c.str() : std::string_view();
    a.full_name = f1 & a_full_name ? c.str() : std::string_view();
    a.quota_bytes = f1 & a_quota_bytes ? std::optional(c.varint()) : std::nullopt;
    a.quota_messages = f1 & a_quota_messages ? std::optional(c.varint()) : std::nullopt;
    a.vacation.reset();
    if (f1 & a_vacation) {
        vacation_window w;
        w.enabled = f2 & a_vacation_enabled;
        if (f2 & a_vacation_starts) {
            w.starts_at = static_cast<std::time_t>(c.signed_varint());
        }
        if (f2 & a_vacation_ends) {
            w.ends_at = static_cast<std::time_t>(c.signed_varint());
        }
        a.vacation = w;
    }
    a.forwards = f2 & a_forwards ? c.strings(c.varint()) : packed_strings();
    a.transport = f3 & a_transport ? c.str() : std::string_view();
    return c.ok();
}

uint32_t slots_for(size_t entries) {
    if (entries == 0) {
        return 0;
    }
    uint32_t n = 1;
    while (n < entries + entries / 2 + 1) {
        n <<= 1;
    }
    return n;
}

// Puts {hash, offset} into a linear-probing table of `slots` slots at `table`.
void insert_slot(std::string& out, size_t table, uint32_t slots, uint32_t hash, uint32_t offset) {
    for (uint32_t i = hash & (slots - 1);; i = (i + 1) & (slots - 1)) {
        slot s;
        std::memcpy(&s, out.data() + table + i * sizeof(slot), sizeof(s));
        if (s.offset == 0) {
            put_at(out, table + i * sizeof(slot), slot{hash, offset});
            return;
        }
    }
}

void pad8(std::string& out) {
    out.resize((out.size() + 7) & ~size_t{7}, '\0');
}

}  // namespace

void packed_strings::iterator::decode() {
    if (left_ == 0) {
        current_ = {};
        return;
    }
    cursor c(at_, end_);
    current_ = c.str();
    at_ = c.at();
    if (!c.ok()) {  // cannot happen for a list the reader checked; end the walk safely
        left_ = 0;
        current_ = {};
    }
}

std::string address_view::maildir() const {
    if (!mailbox) {
        return {};
    }
    return stored_maildir.empty() ? default_maildir(domain_name, local_part)
                                  : std::string(stored_maildir);
}

uint32_t image_hash(std::string_view key) {
    uint32_t h = 2166136261u;
    for (unsigned char ch : key) {
        h = (h ^ ch) * 16777619u;
    }
    return h;
}

std::string encode_domain(const domain_data& d, std::span<const std::string_view> encoded) {
    std::string out(sizeof(header), '\0');
    header h{};
    h.magic = segment_magic;
    h.version = d.version;

    h.domain_off = static_cast<uint32_t>(out.size());
    encode_domain_record(d.domain, out);
    h.aliases_off = static_cast<uint32_t>(out.size());
    put_varint(out, d.aliases.size());
    for (const auto& a : d.aliases) {
        put_str(out, a);
    }
    h.grants_off = static_cast<uint32_t>(out.size());
    put_varint(out, d.grants.size());
    for (const auto& [local, logins] : d.grants) {
        put_str(out, local);
        put_varint(out, logins.size());
        for (const auto& l : logins) {
            put_str(out, l);
        }
    }
    h.admins_off = static_cast<uint32_t>(out.size());
    put_varint(out, d.admins.size());
    for (const auto& a : d.admins) {
        put_str(out, a);
    }

    // Records; the first of each local part wins (the database's unique key makes them unique).
    // Those already encoded come first, then those of d.addresses; the walk decodes each once
    // for its local part and full name.
    struct stored_record {
        std::string_view local_part;
        std::string_view full_name;
        uint32_t hash;
        uint32_t offset;  // in the segment
        std::string_view bytes;
    };

    std::vector<stored_record> walked;
    walked.reserve(encoded.size() + d.addresses.size());
    size_t record_bytes = 0;
    auto walk = [&](std::string_view records) {
        cursor c(bytes_of(records), bytes_of(records) + records.size());
        while (c.at() < c.end()) {
            const uint8_t* start = c.at();
            address_view a;
            if (!decode_address(c, d.domain.name, a)) {
                return false;  // records that are not this encoder's: the caller reports it
            }
            std::string_view bytes(reinterpret_cast<const char*>(start),
                                   static_cast<size_t>(c.at() - start));
            walked.push_back({a.local_part, a.full_name, image_hash(a.local_part), 0, bytes});
            record_bytes += bytes.size();
        }
        return true;
    };
    for (std::string_view records : encoded) {
        if (!walk(records)) {
            return {};
        }
    }
    std::string appended;
    for (const auto& a : d.addresses) {
        encode_address_record(a, d.domain.name, appended);
    }
    if (!walk(appended)) {
        return {};
    }
    // The index is built as the records are copied; the probe that finds a record's slot also
    // finds an earlier record of the same local part (then this one is dropped).
    h.records_off = static_cast<uint32_t>(out.size());
    h.index_slots = slots_for(walked.size());
    out.reserve(out.size() + record_bytes + 8 + size_t{h.index_slots} * sizeof(slot));
    std::vector<slot> index(h.index_slots, slot{0, 0});
    std::vector<uint32_t> index_record(h.index_slots);  // the slot's entry in `stored`
    std::vector<stored_record> stored;
    stored.reserve(walked.size());
    for (auto& r : walked) {
        uint32_t i = r.hash & (h.index_slots - 1);
        bool duplicate = false;
        for (; index[i].offset != 0; i = (i + 1) & (h.index_slots - 1)) {
            if (index[i].hash == r.hash && stored[index_record[i]].local_part == r.local_part) {
                duplicate = true;
                break;
            }
        }
        if (duplicate) {
            continue;
        }
        r.offset = static_cast<uint32_t>(out.size());
        index[i] = slot{r.hash, r.offset};
        index_record[i] = static_cast<uint32_t>(stored.size());
        stored.push_back(r);
        out.append(r.bytes);
    }
    h.records_end = static_cast<uint32_t>(out.size());
    h.address_count = static_cast<uint32_t>(stored.size());

    pad8(out);
    h.index_off = static_cast<uint32_t>(out.size());
    out.append(reinterpret_cast<const char*>(index.data()), index.size() * sizeof(slot));

    // Full names: normalized key -> the one address, or 0 when several share it.
    std::vector<std::pair<std::string, uint32_t>> names;
    std::unordered_map<std::string, size_t> name_at;
    for (const auto& a : stored) {
        if (a.full_name.empty()) {
            continue;
        }
        auto key = normalize_full_name(a.full_name);
        if (key.empty()) {
            continue;
        }
        auto [it, inserted] = name_at.try_emplace(key, names.size());
        if (inserted) {
            names.emplace_back(key, a.offset);
        } else {
            names[it->second].second = 0;
        }
    }
    std::vector<uint32_t> entry_off;
    entry_off.reserve(names.size());
    for (const auto& [key, record] : names) {
        entry_off.push_back(static_cast<uint32_t>(out.size()));
        put_str(out, key);
        put_varint(out, record);
    }
    pad8(out);
    h.fullname_slots = slots_for(names.size());
    h.fullname_off = static_cast<uint32_t>(out.size());
    out.resize(out.size() + size_t{h.fullname_slots} * sizeof(slot), '\0');
    for (size_t i = 0; i < names.size(); ++i) {
        insert_slot(out, h.fullname_off, h.fullname_slots, image_hash(names[i].first),
                    entry_off[i]);
    }
    pad8(out);
    if (out.size() > std::numeric_limits<uint32_t>::max()) {
        return {};  // a domain beyond 4 GiB of routing data: the caller reports it
    }
    h.size = static_cast<uint32_t>(out.size());
    put_at(out, 0, h);
    return out;
}

std::optional<domain_view> decode_domain_record(std::string_view bytes) {
    cursor c(bytes_of(bytes), bytes_of(bytes) + bytes.size());
    domain_view d;
    if (!decode_domain(c, d)) {
        return std::nullopt;
    }
    return d;
}

std::optional<address_view> decode_address_record(std::string_view bytes,
                                                  std::string_view domain_name) {
    cursor c(bytes_of(bytes), bytes_of(bytes) + bytes.size());
    address_view a;
    if (!decode_address(c, domain_name, a)) {
        return std::nullopt;
    }
    return a;
}

namespace {

header header_of(std::string_view bytes) {
    header h;
    std::memcpy(&h, bytes.data(), sizeof(h));
    return h;
}

bool table_fits(uint32_t off, uint32_t slots, size_t size) {
    return (slots & (slots - 1)) == 0 && off <= size && size_t{slots} * sizeof(slot) <= size - off;
}

}  // namespace

std::optional<domain_segment> domain_segment::open(std::string_view bytes) {
    if (bytes.size() < sizeof(header)) {
        return std::nullopt;
    }
    header h = header_of(bytes);
    size_t size = bytes.size();
    if (h.magic != segment_magic || h.size != size || h.domain_off > size || h.aliases_off > size ||
        h.grants_off > size || h.admins_off > size || h.records_off > h.records_end ||
        h.records_end > size || !table_fits(h.index_off, h.index_slots, size) ||
        !table_fits(h.fullname_off, h.fullname_slots, size) ||
        (h.address_count > 0 && h.index_slots <= h.address_count)) {
        return std::nullopt;
    }
    domain_segment seg(bytes);
    cursor c(bytes_of(bytes) + h.domain_off, bytes_of(bytes) + size);
    if (!decode_domain(c, seg.domain_)) {
        return std::nullopt;
    }
    return seg;
}

uint64_t domain_segment::version() const {
    return header_of(bytes_).version;
}

uint32_t domain_segment::address_count() const {
    return header_of(bytes_).address_count;
}

std::optional<packed_strings> domain_segment::aliases() const {
    const uint8_t* base = bytes_of(bytes_);
    cursor c(base + header_of(bytes_).aliases_off, base + bytes_.size());
    auto list = c.strings(c.varint());
    return c.ok() ? std::optional(list) : std::nullopt;
}

std::optional<packed_strings> domain_segment::admins() const {
    const uint8_t* base = bytes_of(bytes_);
    cursor c(base + header_of(bytes_).admins_off, base + bytes_.size());
    auto list = c.strings(c.varint());
    return c.ok() ? std::optional(list) : std::nullopt;
}

namespace {

// Walks a linear-probing table for `hash`: `visit(offset)` is called for each slot of that hash
// and answers the result, or nullopt to probe on; an empty slot ends the walk with "no".
template <typename Visit>
domain_segment::found probe(const uint8_t* base, uint32_t table, uint32_t slots, uint32_t hash,
                            Visit visit) {
    for (uint32_t i = hash & (slots - 1), n = 0; slots > 0 && n < slots;
         i = (i + 1) & (slots - 1), ++n) {
        slot s;
        std::memcpy(&s, base + table + size_t{i} * sizeof(slot), sizeof(s));
        if (s.offset == 0) {
            break;
        }
        if (s.hash == hash) {
            if (auto answer = visit(s.offset)) {
                return *answer;
            }
        }
    }
    return domain_segment::found::no;
}

}  // namespace

domain_segment::found domain_segment::find_address(std::string_view local_part,
                                                   address_view& out) const {
    header h = header_of(bytes_);
    const uint8_t* base = bytes_of(bytes_);
    return probe(base, h.index_off, h.index_slots, image_hash(local_part),
                 [&](uint32_t offset) -> std::optional<found> {
                     if (offset < h.records_off || offset >= h.records_end) {
                         return found::corrupt;
                     }
                     cursor c(base + offset, base + h.records_end);
                     address_view a;
                     if (!decode_address(c, domain_.name, a)) {
                         return found::corrupt;
                     }
                     if (a.local_part != local_part) {
                         return std::nullopt;
                     }
                     out = a;
                     return found::yes;
                 });
}

domain_segment::found domain_segment::find_full_name(std::string_view normalized,
                                                     address_view& out) const {
    header h = header_of(bytes_);
    if (normalized.empty()) {
        return found::no;
    }
    const uint8_t* base = bytes_of(bytes_);
    return probe(base, h.fullname_off, h.fullname_slots, image_hash(normalized),
                 [&](uint32_t offset) -> std::optional<found> {
                     if (offset >= bytes_.size()) {
                         return found::corrupt;
                     }
                     cursor c(base + offset, base + bytes_.size());
                     std::string_view key = c.str();
                     uint64_t record = c.varint();
                     if (!c.ok()) {
                         return found::corrupt;
                     }
                     if (key != normalized) {
                         return std::nullopt;
                     }
                     if (record == 0) {
                         return found::no;  // ambiguous
                     }
                     if (record < h.records_off || record >= h.records_end) {
                         return found::corrupt;
                     }
                     cursor r(base + record, base + h.records_end);
                     return decode_address(r, domain_.name, out) ? found::yes : found::corrupt;
                 });
}

bool domain_segment::sender_grants(std::string_view local_part,
                                   std::vector<std::string>& out) const {
    const uint8_t* base = bytes_of(bytes_);
    header h = header_of(bytes_);
    for (std::string_view want : {local_part, std::string_view()}) {
        cursor c(base + h.grants_off, base + bytes_.size());
        uint64_t groups = c.varint();
        for (uint64_t g = 0; g < groups && c.ok(); ++g) {
            std::string_view local = c.str();
            auto logins = c.strings(c.varint());
            if (c.ok() && local == want) {
                for (auto l : logins) {
                    out.emplace_back(l);
                }
                break;
            }
        }
        if (!c.ok()) {
            return false;
        }
        if (want.empty()) {
            break;  // local_part "" asks for the whole domain once
        }
    }
    auto admins = this->admins();
    if (!admins) {
        return false;
    }
    for (auto a : *admins) {
        out.emplace_back(a);
    }
    return true;
}

bool domain_segment::for_each_address(const std::function<void(const address_view&)>& fn) const {
    header h = header_of(bytes_);
    const uint8_t* base = bytes_of(bytes_);
    cursor c(base + h.records_off, base + h.records_end);
    for (uint32_t i = 0; i < h.address_count; ++i) {
        address_view a;
        if (!decode_address(c, domain_.name, a)) {
            return false;
        }
        fn(a);
    }
    return true;
}

}  // namespace vhostmail::vhost
