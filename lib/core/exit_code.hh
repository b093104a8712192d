// SPDX-License-Identifier: Apache-2.0
// exit_code.hh - sysexits(3) values as Postfix's pipe(8) and our daemons use them.
#pragma once

namespace vhostmail {

enum exit_code : int {
    ex_ok = 0,
    ex_usage = 64,
    ex_dataerr = 65,
    ex_noinput = 66,
    ex_nouser = 67,
    ex_nohost = 68,
    ex_unavailable = 69,
    ex_software = 70,
    ex_oserr = 71,
    ex_osfile = 72,
    ex_cantcreat = 73,
    ex_ioerr = 74,
    ex_tempfail = 75,
    ex_protocol = 76,
    ex_noperm = 77,
    ex_config = 78,
};

}  // namespace vhostmail
