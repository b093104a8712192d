// SPDX-License-Identifier: Apache-2.0
#include "lib/params/milter_params.hh"

#include "lib/dkim/canon.hh"

namespace vhostmail::params {

namespace {

void declare(config::param_table& t) {
    using config::param_type;
    t.add({.name = "milter_listen",
           .type = param_type::string,
           .default_value = "unix:/var/spool/postfix/private/vhostmail-milter",
           .doc = "the milter socket (unix:/path or host:port); Postfix's smtpd_milters and"
                  " non_smtpd_milters name it"});
    t.add({.name = "milter_max_staleness",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "the From check uses routing data proven current within this time (else it"
                  " answers 451 4.3.0)",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "milter_refresh_interval",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "how often the change serial is polled",
           .min = 10,
           .max = 3600'000});
    t.add({.name = "milter_key_max_staleness",
           .type = param_type::duration,
           .default_value = "1h",
           .doc = "while the database is unreachable, signing goes on with the keys and domains"
                  " last proven current for this long (then 451 4.3.0 for mail to be signed)",
           .min = 100,
           .max = 7 * 86400'000LL});
    t.add({.name = "milter_canonicalization",
           .type = param_type::string,
           .default_value = "relaxed/relaxed",
           .doc = "DKIM canonicalization, header/body: relaxed or simple each"});
    t.add({.name = "milter_sign_local",
           .type = param_type::boolean,
           .default_value = "yes",
           .doc = "sign mail without an SMTP client (sendmail, through non_smtpd_milters) when"
                  " its From domain has a key"});
    t.add({.name = "milter_timeout",
           .type = param_type::duration,
           .default_value = "600s",
           .doc = "drop a Postfix connection that sends nothing for this long",
           .min = 1000,
           .max = 86400'000});
}

std::vector<config::listen_request> listeners(const config::config& cfg) {
    return {{cfg.get_string("milter_listen"), "milter"}};
}

std::vector<std::string> validate(const config::config& cfg) {
    std::vector<std::string> problems;
    if (!dkim::parse_canon(cfg.get_string("milter_canonicalization"))) {
        problems.push_back(
            "milter_canonicalization must be relaxed/relaxed, relaxed/simple,"
            " simple/relaxed or simple/simple");
    }
    if (cfg.get_duration("milter_refresh_interval") >= cfg.get_duration("milter_max_staleness")) {
        problems.push_back("milter_refresh_interval must be smaller than milter_max_staleness");
    }
    return problems;
}

}  // namespace

const config::daemon_params milter = {.prefix = "milter_",
                                      .default_max_clients = 1000,
                                      .declare = declare,
                                      .listeners = listeners,
                                      .validate = validate};

}  // namespace vhostmail::params
