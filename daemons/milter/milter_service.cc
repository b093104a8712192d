// SPDX-License-Identifier: Apache-2.0
#include "daemons/milter/milter_service.hh"

#include <algorithm>
#include <ctime>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/db/from_config.hh"
#include "lib/dkim/from_header.hh"
#include "lib/log/log.hh"
#include "lib/vhost/routing_settings.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::milter {

namespace {

using namespace std::chrono_literals;

verdict refuse(std::string text) {
    verdict v;
    v.what = verdict::kind::reject;
    v.text = std::move(text);
    return v;
}

verdict defer(std::string text) {
    verdict v;
    v.what = verdict::kind::tempfail;
    v.text = std::move(text);
    return v;
}

std::string domain_of(const std::string& address) {
    return split_address(address).domain;
}

}  // namespace

milter_service::milter_service(const config::config& cfg, metrics::registry& metrics)
    : canon_(*dkim::parse_canon(cfg.get_string("milter_canonicalization"))),
      sign_local_(cfg.get_bool("milter_sign_local")),
      resolve_(vhost::routing_options(cfg)),
      from_check_{.max_staleness = cfg.get_duration("milter_max_staleness")},
      keys_{.max_staleness = cfg.get_duration("milter_key_max_staleness")},
      no_key_log_(1h),
      routing_(
          vhost::routing_source::copy_settings{
              .db = db_settings_from(cfg),
              .refresh_interval = cfg.get_duration("milter_refresh_interval"),
              .outage_note =
                  "the From check answers 451 4.3.0, signing goes on with the keys last read",
              .on_change = [this](db::connection& conn) -> db::outcome<void> {
                  auto loaded = store_.load(conn);
                  if (!loaded) {
                      return loaded.error();
                  }
                  std::lock_guard lock(signing_mutex_);
                  signing_ = *loaded;
                  return {};
              },
              .metrics = &metrics}
              .per_host(cfg, false),
          nullptr),
      meter_(metrics, "stage"),
      signatures_(metrics
                      .counters("vhostmail_dkim_signatures_total",
                                "DKIM-Signature fields added to messages.")
                      .with()) {
    resolve_.trace = false;
    static constexpr const char* verdicts[] = {"pass", "sign", "reject", "tempfail"};
    for (size_t i = 0; i < decided_.size(); ++i) {
        decided_[i] = meter_.series("headers", verdicts[i], i == 3);
    }
    signed_ = meter_.series("signing", "signed", false);
    signing_failed_ = meter_.series("signing", "tempfail", true);
}

verdict milter_service::decide(const message_facts& m) {
    auto started = std::chrono::steady_clock::now();
    verdict v = judge(m);
    decided_[static_cast<size_t>(v.what)]->record(std::chrono::steady_clock::now() - started);
    return v;
}

void milter_service::signing_done(bool ok, size_t signatures,
                                  std::chrono::steady_clock::time_point started) {
    auto took = std::chrono::steady_clock::now() - started;
    if (ok) {
        signed_->record(took);
        signatures_.add(signatures);
    } else {
        signing_failed_->record(took);
    }
}

milter_service::~milter_service() {
    routing_.stop();
}

void milter_service::stop() {
    routing_.stop();
}

std::shared_ptr<const signing_data> milter_service::signing() const {
    std::lock_guard lock(signing_mutex_);
    return signing_;
}

verdict milter_service::judge(const message_facts& m) {
    if (!wants_message(m.login, m.local)) {
        return {};
    }
    if (m.headers_too_large) {
        // More than any real message signs; holding it would let one session pin the memory.
        verdict v = refuse("Message header too large to sign");
        v.code = "552";
        v.status = "5.3.4";
        return v;
    }
    if (m.from_values.size() != 1) {
        if (!m.login.empty()) {
            return refuse(m.from_values.empty()
                              ? "Message has no From header"
                              : "Message has several From headers (RFC 6376 8.15)");
        }
        log::info("{}: not signed: {} From headers", m.queue_id, m.from_values.size());
        return {};
    }
    auto parsed = dkim::parse_from_header(m.from_values.front());
    if (parsed.what != dkim::from_address::kind::one) {
        if (!m.login.empty()) {
            return refuse("Malformed From header: " + parsed.error);
        }
        log::info("{}: not signed: {}", m.queue_id, parsed.error);
        return {};
    }
    const std::string& from = parsed.address;
    if (!m.login.empty()) {
        auto snap = routing_.current_copy(from_check_);
        if (!snap) {
            return defer("Temporary sender check problem, try again later");
        }
        auto checked = check_from(m, std::move(snap), from);
        if (checked.what != verdict::kind::pass) {
            return checked;
        }
    }
    verdict v;
    v.from = from;
    return plan_signing(m, std::move(v));
}

verdict milter_service::check_from(const message_facts& m,
                                   std::shared_ptr<const vhost::snapshot> snap,
                                   const std::string& from) {
    vhost::snapshot_directory dir(std::move(snap));
    auto options = resolve_;
    options.now = std::time(nullptr);
    auto owned = vhost::may_send_as(dir, m.login, from, options);
    if (owned.status == lookup_status::temp_fail) {
        return defer("Temporary sender check problem, try again later");
    }
    if (owned.value) {
        return {};
    }
    // Shared mailboxes: any address of the login's own domain, where the setting allows it.
    auto login = parse_address(m.login);
    auto author = parse_address(from);
    if (login && author) {
        auto login_domain = dir.find_domain(login->domain);
        auto from_domain = dir.find_domain(author->domain);
        if (login_domain.status == lookup_status::found &&
            from_domain.status == lookup_status::found &&
            login_domain.value.id == from_domain.value.id) {
            auto data = signing();
            const std::string canonical(login_domain.value.name);
            bool allowed = data && data->from_any_domains.contains(canonical);
            if (data) {
                auto own = data->from_any_addresses.find(login->local + "@" + canonical);
                if (own != data->from_any_addresses.end()) {
                    allowed = own->second;
                }
            }
            if (allowed) {
                return {};
            }
        }
    }
    return refuse("From address <" + log_field(from) + "> is not owned by user " +
                  log_field(m.login));
}

verdict milter_service::plan_signing(const message_facts& m, verdict v) {
    auto snap = routing_.current_copy(keys_);
    auto data = signing();
    if (!snap || !data) {
        return defer("Temporary signing problem, try again later");
    }
    vhost::snapshot_directory dir(snap);
    std::string domain = domain_of(v.from);
    auto found = dir.find_domain(domain);
    const std::vector<domain_key>* keys = nullptr;
    if (found.status == lookup_status::found) {
        auto it = data->keys.find(std::string(found.value.name));
        if (it != data->keys.end()) {
            keys = &it->second;
        }
    }
    if (!keys) {
        if (no_key_log_.ready(domain)) {
            log::info("{}: no active DKIM key for {}: its mail passes unsigned (said once an hour)",
                      m.queue_id, log_field(domain));
        }
        return v;
    }
    for (const auto& k : *keys) {
        if (!k.key) {
            log::error("{}: DKIM key {} for {} unusable ({}): message deferred", m.queue_id, k.file,
                       domain, k.error);
            return defer("Temporary signing problem, try again later");
        }
        v.signatures.push_back({domain, k.selector, k.key});
    }
    v.what = verdict::kind::sign;
    return v;
}

}  // namespace vhostmail::milter
