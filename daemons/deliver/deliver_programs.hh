// SPDX-License-Identifier: Apache-2.0
// deliver_programs.hh - vhostmail-deliver (deliver_front.cc) and vhostmail-deliver-direct
// (deliver_direct.cc): the pipe(8) command (docs/protocols.md section 7).
// usage: vhostmail-deliver [-c config] [-o name=value]... [-v] -f sender [-a original_recipient]
//                          [--] recipient...
// The message is read from stdin (LF line ends, as pipe(8) writes it; at most
// deliver_max_message_size bytes). Exit status per sysexits(3), as pipe(8) maps it: 0 delivered,
// 67 unknown user, 75 temporary trouble (also every unexpected error), 73 over quota (with
// "5.2.2" output), 65 mail loop ("5.4.6"). On failure one line "<dsn> <text>" goes to stdout,
// which pipe(8) uses as the DSN and the reason. Several recipients share one exit status (use
// <transport>_destination_recipient_limit = 1 for per-recipient results).
// Started as root, it drops to mail_owner_user first; normally pipe(8)'s user= runs it as the
// delivery user that owns deliver_mail_base.
// Test hook: VHOSTMAIL_TEST_CRASH_AT=tmp-written|synced|linked SIGKILLs the process at that
// step (pipe(8) passes only export_environment, so Postfix never sets it).
#pragma once

namespace vhostmail::deliver {

// vhostmail-deliver-direct: routes and writes the message itself (database, Maildir, vacation).
int run_pipe(int argc, char** argv);

// vhostmail-deliver, the command in master.cf: a thin front end linked without the database
// and OpenSSL (its start-up is most of a per-message process's cost). With deliver_lmtp_relay
// it hands the message to lmtpd; otherwise, or when lmtpd cannot be reached, it execs
// vhostmail-deliver-direct from its own directory with the same arguments (the message, if
// already read, in a memfd as its stdin).
int run_relay_front(int argc, char** argv);

}  // namespace vhostmail::deliver
