// SPDX-License-Identifier: Apache-2.0
#include "lib/config/common_params.hh"

#include <chrono>
#include <utility>

namespace vhostmail::config {

namespace {

void add_db_params(param_table& t) {
    using namespace std::chrono_literals;
    using pt = param_type;
    // Connector/C timeouts have whole-second resolution; the db layer rounds up.
    const int64_t io_min = duration_bound(1s);
    const int64_t io_max = duration_bound(1h);
    t.add({.name = std::string(common::db_hosts),
           .type = pt::list,
           .default_value = "localhost",
           .doc = "database servers, tried in order: host, host:port, unix:/path or /path"});
    t.add({.name = std::string(common::db_user),
           .type = pt::string,
           .default_value = "",
           .doc = "database user (may come from db_option_file instead); empty, with no option"
                  " file and a unix: host: the system user the program runs as (MariaDB's"
                  " unix_socket authentication)"});
    t.add({.name = std::string(common::db_password),
           .type = pt::string,
           .default_value = "",
           .doc = "database password (may come from db_option_file instead)",
           .secret = true});
    t.add({.name = std::string(common::db_name),
           .type = pt::string,
           .default_value = "vhostmail",
           .doc = "database name"});
    t.add({.name = std::string(common::db_option_file),
           .type = pt::string,
           .default_value = "",
           .doc = "MariaDB option file read with MYSQL_READ_DEFAULT_FILE (\"\" = none)"});
    t.add({.name = std::string(common::db_option_group),
           .type = pt::string,
           .default_value = "client",
           .doc = "group to read in db_option_file"});
    t.add({.name = std::string(common::db_charset),
           .type = pt::string,
           .default_value = "utf8mb4",
           .doc = "connection character set"});
    t.add({.name = std::string(common::db_connect_timeout),
           .type = pt::duration,
           .default_value = "5s",
           .doc = "time limit for connecting to one database server",
           .min = io_min,
           .max = io_max});
    t.add({.name = std::string(common::db_read_timeout),
           .type = pt::duration,
           .default_value = "5s",
           .doc = "time limit for one read from the database server",
           .min = io_min,
           .max = io_max});
    t.add({.name = std::string(common::db_write_timeout),
           .type = pt::duration,
           .default_value = "5s",
           .doc = "time limit for one write to the database server",
           .min = io_min,
           .max = io_max});
    t.add({.name = std::string(common::db_retry_interval),
           .type = pt::duration,
           .default_value = "10s",
           .doc = "how long a failed database server is skipped"});
    t.add({.name = std::string(common::db_idle_interval),
           .type = pt::duration,
           .default_value = "60s",
           .doc = "close database connections idle this long"});
    t.add({.name = std::string(common::db_pool_size),
           .type = pt::integer,
           .default_value = "4",
           .doc = "database connections per daemon",
           .min = 1,
           .max = 256});
    t.add(
        {.name = std::string(common::db_lease_timeout),
         .type = pt::duration,
         .default_value = "2s",
         .doc = "how long a request waits for a free database connection, then fails temporarily"});
    t.add({.name = std::string(common::db_tls),
           .type = pt::boolean,
           .default_value = "no",
           .doc = "yes: connect to the database over TLS only (also implied by db_tls_ca_file,"
                  " db_tls_ca_path or db_tls_cert_file)"});
    t.add({.name = std::string(common::db_tls_verify_cert),
           .type = pt::boolean,
           .default_value = "yes",
           .doc = "with TLS: verify the server's certificate and host name against the CAs"});
    t.add({.name = std::string(common::db_tls_ca_file),
           .type = pt::string,
           .default_value = "",
           .doc = "PEM file of the CAs that sign the database server's certificate"});
    t.add({.name = std::string(common::db_tls_ca_path),
           .type = pt::string,
           .default_value = "",
           .doc = "directory of CA certificates (c_rehash layout)"});
    t.add({.name = std::string(common::db_tls_cert_file),
           .type = pt::string,
           .default_value = "",
           .doc = "client certificate (PEM), for servers that require one"});
    t.add({.name = std::string(common::db_tls_key_file),
           .type = pt::string,
           .default_value = "",
           .doc = "the client certificate's private key (PEM); readable by the daemon only"});
}

// The Sender Rewriting Scheme (docs/srs.md): lookupd's srs_forward and srs_reverse maps, and
// the delivery agents that give local mailboxes the original Return-Path. Named and defaulted as
// postsrsd's options are, so its settings carry over.
void add_srs_params(param_table& t) {
    using namespace std::chrono_literals;
    using pt = param_type;
    t.add({.name = std::string(common::srs_domain),
           .type = pt::string,
           .default_value = "",
           .doc = "domain of rewritten senders (SRS0=...@this); Postfix must accept mail for it"
                  " (a hosted domain); \"\" = SRS off (postsrsd -d)"});
    t.add({.name = std::string(common::srs_secret_file),
           .type = pt::string,
           .default_value = "/etc/vhostmail/srs.secret",
           .doc = "secrets, one per line: the first signs, all verify (postsrsd's file format,"
                  " -s); readable by the daemons' group only"});
    t.add({.name = std::string(common::srs_max_age),
           .type = pt::duration,
           .default_value = "21d",
           .doc = "how long a rewritten sender stays good for a bounce, in whole days",
           .min = duration_bound(24h),
           .max = duration_bound(24h * 1000)});
    t.add({.name = std::string(common::srs_hash_length),
           .type = pt::integer,
           .default_value = "4",
           .doc = "hash characters written (postsrsd -n)",
           .min = 1,
           .max = 27});
    t.add({.name = std::string(common::srs_hash_min),
           .type = pt::integer,
           .default_value = "4",
           .doc = "fewest hash characters accepted, at most srs_hash_length (postsrsd -N)",
           .min = 1,
           .max = 27});
    t.add({.name = std::string(common::srs_separator),
           .type = pt::choice,
           .default_value = "=",
           .doc = "separator written after SRS0/SRS1 (postsrsd -a); all three are read",
           .choices = {"=", "-", "+"}});
    t.add({.name = std::string(common::srs_exclude_domains),
           .type = pt::list,
           .default_value = "",
           .doc = "sender domains never rewritten besides the hosted ones (postsrsd -X): list"
                  " Postfix's mydestination here, so local(8) mail keeps its sender;"
                  " \".example.org\" also covers its subdomains"});
}

}  // namespace

void add_common_params(param_table& t) {
    using pt = param_type;
    add_db_params(t);
    t.add({.name = std::string(common::syslog_name),
           .type = pt::string,
           .default_value = "vhostmail",
           .doc = "program name prefix in log lines"});
    t.add({.name = std::string(common::syslog_facility),
           .type = pt::choice,
           .default_value = "mail",
           .doc = "syslog facility",
           .choices = {"mail", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
                       "local7", "daemon"}});
    t.add({.name = std::string(common::mail_owner_user),
           .type = pt::string,
           .default_value = "vhostmail",
           .doc = "unprivileged user the daemons run as"});
    t.add({.name = std::string(common::recipient_delimiter),
           .type = pt::string,
           .default_value = "+",
           .doc = "characters that separate a local part from its extension (\"\" = none)"});
    t.add({.name = std::string(common::routing_image_file),
           .type = pt::string,
           .default_value = "",
           .doc = "one copy of the routing data per host: vhostmail-lookupd writes it to this"
                  " file (on a tmpfs, e.g. /run/vhostmail/routing.image) and policyd, lmtpd and"
                  " the milter map it read-only instead of loading their own (\"\" = each"
                  " keeps its own copy)"});
    add_srs_params(t);
    t.add({.name = std::string(common::propagate_unmatched_extensions),
           .type = pt::boolean,
           .default_value = "yes",
           .doc = "add a +extension matched on the base address to the alias results"
                  " (Postfix propagate_unmatched_extensions)",
           .old_names = {"lookupd_propagate_unmatched_extensions"}});
}

std::vector<std::string> daemon_prefixes() {
    return {"lookupd_", "policyd_", "authd_", "deliver_", "lmtpd_", "milter_", "admin_"};
}

std::vector<std::string> other_daemon_prefixes(std::string_view own) {
    std::vector<std::string> out;
    for (auto& p : daemon_prefixes()) {
        if (p != own) {
            out.push_back(std::move(p));
        }
    }
    return out;
}

}  // namespace vhostmail::config
