// SPDX-License-Identifier: Apache-2.0
// milter_glue.hh - vhostmail-milter on Postfix's milter protocol, through libmilter: the
// callbacks, the negotiation (only the events and actions needed) and the socket. libmilter runs
// one thread per Postfix connection and its own signal thread (SIGTERM, SIGINT and SIGHUP stop
// it); every other thread is started with those signals blocked (lib/daemon).
#pragma once

#include "lib/config/config.hh"

#include "daemons/milter/milter_service.hh"

namespace vhostmail::milter {

// Registers with libmilter and opens milter_listen (before the privilege drop: the socket's
// directory may be root's). Logs and returns false on failure.
bool open_milter_socket(const config::config& cfg);

// Serves until libmilter is told to stop; true when it stopped cleanly.
bool run_milter(milter_service& svc);

}  // namespace vhostmail::milter
