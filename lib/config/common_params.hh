// SPDX-License-Identifier: Apache-2.0
// common_params.hh - the parameters every vhostmail daemon shares (database, syslog, user), and
// the per-daemon name prefixes. Names follow Postfix dict_mysql(5) where one exists
// (hosts, user, password, dbname, option_file, option_group, charset, retry_interval,
// idle_interval), with a "db_" prefix. Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/config/params.hh"

namespace vhostmail::config {

// Parameter names, so that a typo is a compile error rather than a logic_error at start.
namespace common {
inline constexpr std::string_view db_hosts = "db_hosts";
inline constexpr std::string_view db_user = "db_user";
inline constexpr std::string_view db_password = "db_password";
inline constexpr std::string_view db_name = "db_name";
inline constexpr std::string_view db_option_file = "db_option_file";
inline constexpr std::string_view db_option_group = "db_option_group";
inline constexpr std::string_view db_charset = "db_charset";
inline constexpr std::string_view db_connect_timeout = "db_connect_timeout";
inline constexpr std::string_view db_read_timeout = "db_read_timeout";
inline constexpr std::string_view db_write_timeout = "db_write_timeout";
inline constexpr std::string_view db_retry_interval = "db_retry_interval";
inline constexpr std::string_view db_idle_interval = "db_idle_interval";
inline constexpr std::string_view db_pool_size = "db_pool_size";
inline constexpr std::string_view db_lease_timeout = "db_lease_timeout";
inline constexpr std::string_view db_tls = "db_tls";
inline constexpr std::string_view db_tls_verify_cert = "db_tls_verify_cert";
inline constexpr std::string_view db_tls_ca_file = "db_tls_ca_file";
inline constexpr std::string_view db_tls_ca_path = "db_tls_ca_path";
inline constexpr std::string_view db_tls_cert_file = "db_tls_cert_file";
inline constexpr std::string_view db_tls_key_file = "db_tls_key_file";
inline constexpr std::string_view syslog_name = "syslog_name";
inline constexpr std::string_view syslog_facility = "syslog_facility";
inline constexpr std::string_view mail_owner_user = "mail_owner_user";
inline constexpr std::string_view recipient_delimiter = "recipient_delimiter";
inline constexpr std::string_view propagate_unmatched_extensions = "propagate_unmatched_extensions";
inline constexpr std::string_view routing_image_file = "routing_image_file";
inline constexpr std::string_view srs_domain = "srs_domain";
inline constexpr std::string_view srs_secret_file = "srs_secret_file";
inline constexpr std::string_view srs_max_age = "srs_max_age";
inline constexpr std::string_view srs_hash_length = "srs_hash_length";
inline constexpr std::string_view srs_hash_min = "srs_hash_min";
inline constexpr std::string_view srs_separator = "srs_separator";
inline constexpr std::string_view srs_exclude_domains = "srs_exclude_domains";
}  // namespace common

// Declares the shared parameters above in `table` (defaults in common_params.cc). Throws
// std::logic_error if one of them is already declared.
void add_common_params(param_table& table);

// The name prefixes of all daemons' own parameters: lookupd_, policyd_, authd_, deliver_,
// lmtpd_, milter_, admin_.
std::vector<std::string> daemon_prefixes();

// daemon_prefixes() without `own` (e.g. "lookupd_"): pass it as load_options::foreign_prefixes
// so a daemon accepts, and ignores, the other daemons' parameters in the shared file.
std::vector<std::string> other_daemon_prefixes(std::string_view own);

}  // namespace vhostmail::config
