// SPDX-License-Identifier: Apache-2.0
// client.hh - the client side of an endpoint (listener.hh syntax): connect, with every step
// bounded, for tools that ask a daemon something (vhostmail status) and daemons that hand work
// to another (deliver to lmtpd).
// Thread safety: reentrant.
#pragma once

#include <chrono>
#include <string>

#include "lib/core/unique_fd.hh"
#include "lib/net/listener.hh"

namespace vhostmail::net {

// A socket connected to `where` (a unix socket, or each address a TCP host name resolves to,
// in order), close-on-exec, whose connect and every later read and write give up after
// `timeout` (SO_SNDTIMEO and SO_RCVTIMEO). Invalid, with `error` set, when none answers.
unique_fd connect_endpoint(const endpoint& where, std::chrono::milliseconds timeout,
                           std::string& error);

}  // namespace vhostmail::net
