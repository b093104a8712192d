// SPDX-License-Identifier: Apache-2.0
// milter_service.hh - vhostmail-milter's decisions: whether a message's From: belongs to the
// SASL login, and which DKIM keys sign it. Pure of libmilter (milter_glue.cc speaks the
// protocol), so every rule is in one place:
//
//   authenticated   exactly one From field with exactly one mailbox, which the login may send
//                   as (the resolver's sender_logins, policyd's sender_login rule), or any
//                   address of the login's own domain where from_any_in_domain allows it;
//                   else 550 5.7.1. Routing data not current: 451 4.3.0.
//   signing         authenticated mail that passed, and mail without an SMTP client
//                   (milter_sign_local), is signed with every active key of the From domain's
//                   canonical domain, d= being the From domain itself (so alias domains align
//                   under DMARC and publish the same record). No key: passes unsigned, logged
//                   once per domain per hour. A key configured but unusable, or key data older
//                   than milter_key_max_staleness: 451 4.3.0, never unsigned.
//   otherwise       unauthenticated mail from SMTP clients is not looked at.
// Thread safety: decide() may be called from many threads.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/dkim/canon.hh"
#include "lib/dkim/signer.hh"
#include "lib/log/rate_limit.hh"
#include "lib/metrics/requests.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/routing_source.hh"

#include "daemons/milter/signing_store.hh"

namespace vhostmail::milter {

struct message_facts {
    std::string login;                     // SASL login; "" when not authenticated
    bool local = false;                    // no SMTP client (sendmail through non_smtpd_milters)
    std::vector<std::string> from_values;  // the From fields' values (two at most: enough to
                                           // know there are several)
    bool headers_too_large = false;        // the signed fields exceed dkim::max_signed_header_bytes
    std::string queue_id;
};

struct planned_signature {
    std::string domain;  // d=
    std::string selector;
    std::shared_ptr<const dkim::private_key> key;
};

struct verdict {
    enum class kind { pass, sign, reject, tempfail } what = kind::pass;
    std::string code = "550", status = "5.7.1";  // reject's reply code and enhanced status
    std::string text;  // reject, tempfail: the reply text (after the status codes)
    std::vector<planned_signature> signatures;
    std::string from;  // the author address, when there was one
};

class milter_service {
public:
    // Counts its decisions in `metrics` (request kind "stage": "headers" with results pass,
    // sign, reject, tempfail; "signing" with signed, tempfail) and the signatures made.
    milter_service(const config::config& cfg, metrics::registry& metrics);
    ~milter_service();

    // Whether a session with this login (or none, local or not) needs the message at all.
    bool wants_message(const std::string& login, bool local) const {
        return !login.empty() || (local && sign_local_);
    }

    verdict decide(const message_facts& m);
    // The end of a message decide() planned to sign: `signatures` added, or the signing failed
    // (ok false: the message was deferred). `started`: when signing began.
    void signing_done(bool ok, size_t signatures, std::chrono::steady_clock::time_point started);

    dkim::canon_pair canonicalization() const { return canon_; }

    void stop();

private:
    verdict judge(const message_facts& m);
    verdict check_from(const message_facts& m, std::shared_ptr<const vhost::snapshot> snap,
                       const std::string& from);
    // Signatures for v.from's domain (v is the passing verdict so far).
    verdict plan_signing(const message_facts& m, verdict v);
    std::shared_ptr<const signing_data> signing() const;

    dkim::canon_pair canon_;
    bool sign_local_;
    vhost::resolve_options resolve_;
    vhost::freshness from_check_, keys_;
    mutable std::mutex signing_mutex_;
    std::shared_ptr<const signing_data> signing_;  // goes with the routing copy
    signing_store store_;                          // the refresher thread's
    log::once_per_key no_key_log_;
    vhost::routing_source routing_;
    metrics::request_meter meter_;
    // verdict::kind's order: pass, sign, reject, tempfail.
    std::array<std::optional<metrics::request_series>, 4> decided_;
    std::optional<metrics::request_series> signed_, signing_failed_;
    metrics::counter& signatures_;
};

}  // namespace vhostmail::milter
