// SPDX-License-Identifier: Apache-2.0
// srs_config.hh - the SRS codec the configuration asks for (the srs_* parameters; docs/srs.md),
// with its secrets read from srs_secret_file under the secret-file rule (lib/os/secret_file.hh).
#pragma once

#include <memory>
#include <string>

#include "lib/config/config.hh"
#include "lib/srs/srs.hh"

namespace vhostmail::srs {

struct codec_load {
    std::shared_ptr<const codec> loaded;  // null when SRS is off (srs_domain empty) or on error
    std::string error;                    // what is wrong, naming the parameter or the file
};

codec_load codec_from_config(const config::config& cfg);

// What is wrong with the srs_* settings themselves (a bad srs_domain, hash lengths), without
// reading the secret file: "" when nothing. For a daemon's -t and start, which must not fail
// for a secret file that lookupd answers around (temporary failures of the SRS maps only).
std::string settings_problem(const config::config& cfg);

}  // namespace vhostmail::srs
