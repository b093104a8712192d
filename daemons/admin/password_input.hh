// SPDX-License-Identifier: Apache-2.0
// password_input.hh - reading passwords for the admin tool: never from argv, either one line
// from a file descriptor (stdin, for scripts) or typed at the terminal without echo. The bytes
// are read one at a time, so a later reader of the same descriptor (a second password line, a
// vacation body) starts right after the line. Every buffer is a wiped crypto::secret.
#pragma once

#include <optional>

#include "lib/core/unique_fd.hh"
#include "lib/crypto/password.hh"

namespace vhostmail::admin {

// One line from fd without its line end (LF or CRLF); nullopt at EOF before any byte or when
// longer than crypto::max_password_bytes.
std::optional<crypto::secret> read_password_line(int fd);

// The controlling terminal (/dev/tty, read-write); invalid when the process has none.
unique_fd open_terminal();

// Writes `text` to the terminal and reads one line with echo off (restored afterwards).
std::optional<crypto::secret> prompt_password(int tty, const char* text);

}  // namespace vhostmail::admin
