// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/password_input.hh"

#include <fcntl.h>
#include <string>
#include <termios.h>
#include <unistd.h>

namespace vhostmail::admin {

std::optional<crypto::secret> read_password_line(int fd) {
    crypto::secret line;
    char c;
    while (true) {
        ssize_t n = read(fd, &c, 1);
        if (n <= 0) {
            if (line.view().empty()) {
                return std::nullopt;
            }
            break;
        }
        if (c == '\n') {
            break;
        }
        line.str().push_back(c);
        if (line.view().size() > crypto::max_password_bytes) {
            return std::nullopt;
        }
        c = 0;
    }
    if (!line.view().empty() && line.view().back() == '\r') {
        line.str().pop_back();
    }
    return line;
}

unique_fd open_terminal() {
    return unique_fd(open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
}

std::optional<crypto::secret> prompt_password(int tty, const char* text) {
    [[maybe_unused]] auto w = write(tty, text, std::char_traits<char>::length(text));
    termios old{};
    tcgetattr(tty, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(tty, TCSAFLUSH, &quiet);
    auto line = read_password_line(tty);
    tcsetattr(tty, TCSAFLUSH, &old);
    w = write(tty, "\n", 1);
    return line;
}

}  // namespace vhostmail::admin
