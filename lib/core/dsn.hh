// SPDX-License-Identifier: Apache-2.0
// dsn.hh - the one table of the SMTP/LMTP reply codes and enhanced status codes
// (RFC 5321 4.2, RFC 3463) that the suite answers with, by meaning. lmtpd, vhostmail-deliver,
// policyd and the LMTP codec name an entry here instead of writing "4.3.0" themselves, so one
// meaning has one code everywhere. Pure constants.
#pragma once

#include <string_view>

namespace vhostmail::dsn {

struct status {
    int code;                   // the three-digit reply code (also pipe(8)'s DSN class)
    std::string_view enhanced;  // RFC 3463 class.subject.detail
};

// 2xx
inline constexpr status ok{250, "2.0.0"};
inline constexpr status closing{221, "2.0.0"};
inline constexpr status sender_ok{250, "2.1.0"};
inline constexpr status recipient_ok{250, "2.1.5"};
inline constexpr status cannot_verify{252, "2.5.2"};

// 4xx: Postfix keeps the mail and tries again
inline constexpr status mailbox_full_temp{452, "4.2.2"};
inline constexpr status local_error{451, "4.3.0"};  // lookup failure, internal error
inline constexpr status system_full{452, "4.3.1"};  // disk full, filesystem quota
inline constexpr status system_config{451, "4.3.5"};  // our configuration or data is wrong
inline constexpr status too_slow{451, "4.4.7"};       // delivery time expired
inline constexpr status too_many_recipients{452, "4.5.3"};
inline constexpr status policy_temp{450, "4.7.1"};  // rate limit, greylisting
inline constexpr status auth_temp{454, "4.7.0"};

// 5xx: refused for good
inline constexpr status user_unknown{550, "5.1.1"};
inline constexpr status bad_address{501, "5.1.3"};    // a command's address argument
inline constexpr status bad_recipient{550, "5.1.3"};  // a recipient no rule could route
inline constexpr status mailbox_full{552, "5.2.2"};
inline constexpr status program_failed{550, "5.3.0"};
inline constexpr status too_big{552, "5.3.4"};
inline constexpr status mail_loop{554, "5.4.6"};
inline constexpr status bad_sequence{503, "5.5.1"};
inline constexpr status wrong_protocol{500, "5.5.1"};  // SMTP's HELO/EHLO spoken to LMTP
inline constexpr status bad_syntax{500, "5.5.2"};
inline constexpr status bad_arguments{501, "5.5.4"};
inline constexpr status not_allowed{550, "5.7.1"};

}  // namespace vhostmail::dsn
