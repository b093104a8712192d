// SPDX-License-Identifier: Apache-2.0
// notify.hh - systemd service notifications (sd_notify protocol) without libsystemd: one
// datagram to $NOTIFY_SOCKET. Does nothing when not started by systemd with Type=notify.
#pragma once

#include <string_view>

namespace vhostmail::os {

// Sends e.g. "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...". Returns false on a send error.
bool notify_service_manager(std::string_view state);

}  // namespace vhostmail::os
