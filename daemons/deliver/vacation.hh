// SPDX-License-Identifier: Apache-2.0
// vacation.hh - automatic replies per RFC 3834 (docs/protocols.md section 10): whether to answer a
// message, and the reply itself. Pure: the once-per-interval record is kept by delivery_store,
// the submission by the delivery core.
// Thread safety: reentrant.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "daemons/deliver/message.hh"

namespace vhostmail::deliver {

enum class reply_decision {
    reply,
    null_sender,      // envelope sender <> (a bounce): nowhere to send
    system_sender,    // MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request
    self,             // the sender is the recipient itself
    auto_submitted,   // Auto-Submitted other than "no"
    list,             // List-Id, List-Post, List-Unsubscribe, ... present
    bulk,             // Precedence: bulk / list / junk
    suppressed,       // X-Auto-Response-Suppress: OOF or All
    not_addressed,    // none of the recipient's addresses in To/Cc/Bcc/Resent-*
};

std::string_view to_string(reply_decision d);

struct reply_input {
    std::string envelope_sender;          // as given; "" is the null sender
    std::vector<std::string> own_addresses;  // the recipient's addresses (lower case): the
                                          // mailbox, the address mailed, ORCPT, configured extras
    const std::vector<header_field>* headers = nullptr;
};

// The RFC 3834 rules, in the order of the enum.
reply_decision decide_reply(const reply_input& in);

struct reply_content {
    std::string from;         // the recipient's address
    std::string to;           // the envelope sender
    std::string subject;      // configured; "" -> "Auto: " + original subject
    std::string body;
    std::string hostname;     // for the Message-ID
    std::time_t now = 0;
};

// The complete reply message (LF line ends): From, To, Subject (RFC 2047 when not ASCII), Date,
// Message-ID, In-Reply-To, References, Auto-Submitted: auto-replied, Precedence: bulk,
// MIME-Version, Content-Type text/plain UTF-8, Content-Transfer-Encoding 8bit, then the body.
std::string compose_reply(const reply_content& c, const std::vector<header_field>& original);

}  // namespace vhostmail::deliver
