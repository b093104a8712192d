// SPDX-License-Identifier: Apache-2.0
#include "lib/srs/srs_config.hh"

#include <stdexcept>

#include <openssl/crypto.h>

#include "lib/config/common_params.hh"
#include "lib/os/secret_file.hh"

namespace vhostmail::srs {

namespace {

constexpr size_t max_secret_file = 64 * 1024;

settings settings_from(const config::config& cfg) {
    namespace common = config::common;
    settings s;
    s.domain = cfg.get_string(common::srs_domain);
    s.separator = cfg.get_string(common::srs_separator).front();
    s.hash_length = static_cast<unsigned>(cfg.get_int(common::srs_hash_length));
    s.hash_min = static_cast<unsigned>(cfg.get_int(common::srs_hash_min));
    s.max_age_days =
        static_cast<unsigned>(cfg.get_duration(common::srs_max_age).count() / (86400 * 1000LL));
    s.exclude_domains = cfg.get_list(common::srs_exclude_domains);
    return s;
}

}  // namespace

std::string settings_problem(const config::config& cfg) {
    settings s = settings_from(cfg);
    if (s.domain.empty()) {
        return {};
    }
    try {
        codec check(std::move(s), {"only the settings are checked"});
    } catch (const std::invalid_argument& e) {
        return std::string("srs_*: ") + e.what();
    }
    return {};
}

codec_load codec_from_config(const config::config& cfg) {
    settings s = settings_from(cfg);
    if (s.domain.empty()) {
        return {};
    }
    const std::string path = cfg.get_string(config::common::srs_secret_file);
    auto file = os::read_secret_file(path, max_secret_file);
    if (!file.error.empty()) {
        return {nullptr, "srs_secret_file " + file.error};
    }
    auto secrets = parse_secrets(file.text);
    OPENSSL_cleanse(file.text.data(), file.text.size());
    if (secrets.empty()) {
        return {nullptr, "srs_secret_file " + path + ": no secret in it"};
    }
    try {
        return {std::make_shared<const codec>(std::move(s), std::move(secrets)), {}};
    } catch (const std::invalid_argument& e) {
        return {nullptr, std::string("srs_*: ") + e.what()};
    }
}

}  // namespace vhostmail::srs
