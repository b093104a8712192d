// SPDX-License-Identifier: Apache-2.0
#include "daemons/milter/milter_glue.hh"

#include <arpa/inet.h>
#include <atomic>
#include <cstring>
#include <ctime>
#include <grp.h>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

#include "lib/core/strings.hh"
#include "lib/log/log.hh"
#include "lib/net/listener.hh"

namespace vhostmail::milter {

namespace {

std::atomic<milter_service*> the_service{nullptr};

// One Postfix connection; a message's part is reset at each MAIL FROM.
struct session {
    bool local = false;
    bool header_no_reply = false;  // negotiated SMFIP_NR_HDR
    bool body_no_reply = false;    // negotiated SMFIP_NR_BODY
    message_facts facts;
    std::unique_ptr<dkim::message_signer> signer;
    verdict plan;

    void reset_message() {
        facts.login.clear();
        facts.from_values.clear();
        facts.headers_too_large = false;
        facts.queue_id.clear();
        signer.reset();
        plan = {};
    }
};

session* of(SMFICTX* ctx) {
    return static_cast<session*>(smfi_getpriv(ctx));
}

std::string macro(SMFICTX* ctx, const char* name) {
    const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
    return v ? std::string(v) : std::string();
}

std::string queue_id(SMFICTX* ctx) {
    std::string id = macro(ctx, "i");
    return id.empty() ? "NOQUEUE" : log_field(id);
}

// The emulated client Postfix presents for mail without one (non_smtpd_milters): no address,
// or the loopback address with port 0.
bool no_smtp_client(const struct sockaddr* addr) {
    if (addr == nullptr) {
        return true;
    }
    if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const struct sockaddr_in*>(addr);
        return in->sin_port == 0 && ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK;
    }
    if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(addr);
        return in6->sin6_port == 0 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return addr->sa_family == AF_UNIX;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long actions, unsigned long steps, unsigned long,
                      unsigned long, unsigned long* want_actions, unsigned long* want_steps,
                      unsigned long* f2, unsigned long* f3) {
    if ((actions & SMFIF_ADDHDRS) == 0) {
        log::error("the MTA does not offer to add headers: cannot sign");
        return SMFIS_REJECT;
    }
    *want_actions = SMFIF_ADDHDRS;
    const unsigned long wanted = SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA |
                                 SMFIP_HDR_LEADSPC | SMFIP_NR_CONN | SMFIP_NR_HDR | SMFIP_NR_BODY;
    *want_steps = steps & wanted;
    *f2 = 0;
    *f3 = 0;
    auto* s = new session;
    s->header_no_reply = (*want_steps & SMFIP_NR_HDR) != 0;
    s->body_no_reply = (*want_steps & SMFIP_NR_BODY) != 0;
    if ((*want_steps & SMFIP_HDR_LEADSPC) == 0) {
        // Without it the MTA drops the space after each colon and adds one to ours: simple
        // header canonicalization would then sign other bytes than those sent.
        log::warning(
            "the MTA does not keep header leading spaces: simple header"
            " canonicalization may not verify");
    }
    delete of(ctx);
    smfi_setpriv(ctx, s);
    smfi_setsymlist(ctx, SMFIM_ENVFROM, const_cast<char*>("{auth_authen} {auth_type}"));
    smfi_setsymlist(ctx, SMFIM_EOH, const_cast<char*>("i"));
    smfi_setsymlist(ctx, SMFIM_EOM, const_cast<char*>("i"));
    return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char*, struct sockaddr* addr) {
    session* s = of(ctx);
    if (!s) {
        s = new session;
        smfi_setpriv(ctx, s);
    }
    s->local = no_smtp_client(addr);
    return SMFIS_CONTINUE;
}

sfsistat on_envfrom(SMFICTX* ctx, char**) {
    session* s = of(ctx);
    milter_service* svc = the_service.load();
    if (!s || !svc) {
        return SMFIS_TEMPFAIL;
    }
    s->reset_message();
    s->facts.login = macro(ctx, "{auth_authen}");
    s->facts.local = s->local;
    if (!svc->wants_message(s->facts.login, s->local)) {
        return SMFIS_ACCEPT;  // unauthenticated mail from an SMTP client: not ours to look at
    }
    s->signer = std::make_unique<dkim::message_signer>(svc->canonicalization());
    return SMFIS_CONTINUE;
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
    session* s = of(ctx);
    if (s && s->signer) {
        if (iequals(name, "From") && s->facts.from_values.size() < 2) {
            s->facts.from_values.emplace_back(value);
        }
        if (!s->signer->add_header(name, value)) {
            s->facts.headers_too_large = true;
        }
    }
    return s && s->header_no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

sfsistat reply(SMFICTX* ctx, const verdict& v) {
    bool reject = v.what == verdict::kind::reject;
    // The text is ours plus escaped client data; '%' would be taken as a format by the MTA.
    std::string text;
    for (char c : printable(v.text)) {
        text += c == '%' ? std::string("%%") : std::string(1, c);
    }
    std::string code = reject ? v.code : "451";
    std::string status = reject ? v.status : "4.3.0";
    smfi_setreply(ctx, code.data(), status.data(), text.data());
    return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

verdict signing_problem() {
    verdict v;
    v.what = verdict::kind::tempfail;
    v.text = "Temporary signing problem, try again later";
    return v;
}

sfsistat on_eoh(SMFICTX* ctx) {
    session* s = of(ctx);
    milter_service* svc = the_service.load();
    if (!s || !s->signer || !svc) {
        return SMFIS_ACCEPT;
    }
    s->facts.queue_id = queue_id(ctx);
    s->plan = svc->decide(s->facts);
    const std::string who =
        s->facts.login.empty() ? std::string("local") : "login=" + log_field(s->facts.login);
    switch (s->plan.what) {
        case verdict::kind::reject:
            log::info("{}: reject: {}: {}", s->facts.queue_id, who, s->plan.text);
            return reply(ctx, s->plan);
        case verdict::kind::tempfail:
            log::warning("{}: defer: {}: {}", s->facts.queue_id, who, s->plan.text);
            return reply(ctx, s->plan);
        case verdict::kind::pass:
            s->signer.reset();
            return SMFIS_ACCEPT;
        case verdict::kind::sign:
            break;
    }
    return SMFIS_CONTINUE;
}

sfsistat on_body(SMFICTX* ctx, unsigned char* chunk, size_t len) {
    session* s = of(ctx);
    if (s && s->signer) {
        s->signer->add_body(std::string_view(reinterpret_cast<const char*>(chunk), len));
    }
    return s && s->body_no_reply ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx) {
    session* s = of(ctx);
    if (!s || !s->signer || s->plan.what != verdict::kind::sign) {
        return SMFIS_ACCEPT;
    }
    std::string id = queue_id(ctx);
    std::time_t now = std::time(nullptr);
    auto started = std::chrono::steady_clock::now();
    milter_service* svc = the_service.load();
    auto done = [&](bool ok) {
        if (svc != nullptr) {
            svc->signing_done(ok, s->plan.signatures.size(), started);
        }
    };
    std::vector<std::string> values;
    for (const auto& p : s->plan.signatures) {
        std::string value = s->signer->sign(*p.key, p.domain, p.selector, now);
        if (value.empty()) {
            log::error("{}: signing with {} for {} failed: message deferred", id, p.selector,
                       p.domain);
            done(false);
            return reply(ctx, signing_problem());
        }
        values.push_back(dkim::lf_folded(value));
    }
    // Inserted at the top, in reverse, so they end up in the order planned.
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
        if (smfi_insheader(ctx, 0, const_cast<char*>("DKIM-Signature"), it->data()) != MI_SUCCESS) {
            log::error("{}: the MTA refused the DKIM-Signature header: message deferred", id);
            done(false);
            return reply(ctx, signing_problem());
        }
    }
    std::string signed_with;
    for (const auto& p : s->plan.signatures) {
        signed_with += (signed_with.empty() ? "" : ", ") + std::string("d=") + p.domain +
                       " s=" + p.selector + " a=" + std::string(dkim::algorithm_name(p.key->alg()));
    }
    log::info("{}: signed: from=<{}> {}: {}", id, log_field(s->plan.from),
              s->facts.login.empty() ? std::string("local") : "login=" + log_field(s->facts.login),
              signed_with);
    done(true);
    s->signer.reset();
    return SMFIS_ACCEPT;
}

sfsistat on_abort(SMFICTX* ctx) {
    if (session* s = of(ctx)) {
        s->reset_message();
    }
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
    delete of(ctx);
    smfi_setpriv(ctx, nullptr);
    return SMFIS_CONTINUE;
}

// libmilter's address syntax: unix:/path, inet:port@host, inet6:port@host.
std::string libmilter_address(const net::endpoint& e) {
    if (e.type == net::endpoint::kind::unix_socket) {
        return "unix:" + e.path;
    }
    bool v6 = e.host.find(':') != std::string::npos;
    return std::string(v6 ? "inet6:" : "inet:") + e.port + "@" + e.host;
}

}  // namespace

bool open_milter_socket(const config::config& cfg) {
    static smfiDesc description = {
        const_cast<char*>("vhostmail-milter"),
        SMFI_VERSION,
        SMFIF_ADDHDRS,
        on_connect,
        nullptr,  // helo
        on_envfrom,
        nullptr,  // envrcpt
        on_header,
        on_eoh,
        on_body,
        on_eom,
        on_abort,
        on_close,
        nullptr,  // unknown
        nullptr,  // data
        on_negotiate,
    };
    std::string error;
    auto where = net::parse_endpoint(cfg.get_string("milter_listen"), error);
    if (!where) {
        log::error("milter_listen: {}", error);
        return false;
    }
    std::string address = libmilter_address(*where);
    if (smfi_register(description) != MI_SUCCESS || smfi_setconn(address.data()) != MI_SUCCESS ||
        smfi_settimeout(static_cast<int>(cfg.get_duration("milter_timeout").count() / 1000)) !=
            MI_SUCCESS ||
        // Every smtpd process of a burst connects at once; as the other daemons' listeners, the
        // kernel's largest backlog (128 lost 20 of 500 connects in the soak).
        smfi_setbacklog(SOMAXCONN) != MI_SUCCESS) {
        log::error("libmilter refused the settings for {}", address);
        return false;
    }
    if (smfi_opensocket(true) != MI_SUCCESS) {
        log::error("cannot listen on {}", address);
        return false;
    }
    if (where->type == net::endpoint::kind::unix_socket) {
        const std::string& path = where->path;
        if (::chmod(path.c_str(), static_cast<mode_t>(cfg.get_mode("milter_socket_mode"))) != 0) {
            log::error("cannot set the mode of {}: {}", path, std::strerror(errno));
            return false;
        }
        std::string group = cfg.get_string("milter_socket_group");
        if (!group.empty()) {
            struct group* g = ::getgrnam(group.c_str());
            if (!g || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
                log::error("cannot give {} to group {}", path, group);
                return false;
            }
        }
    }
    log::info("listening on {} for milter", cfg.get_string("milter_listen"));
    return true;
}

bool run_milter(milter_service& svc) {
    the_service.store(&svc);
    int r = smfi_main();
    the_service.store(nullptr);
    return r == MI_SUCCESS;
}

}  // namespace vhostmail::milter
