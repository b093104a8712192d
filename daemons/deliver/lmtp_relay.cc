// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/lmtp_relay.hh"

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/core/dsn.hh"
#include "lib/core/exit_code.hh"
#include "lib/core/unique_fd.hh"
#include "lib/net/client.hh"
#include "lib/proto/lmtp.hh"
#include "lib/proto/lmtp_data.hh"

namespace vhostmail::deliver {

namespace {

// A blocking client connection with send/receive time-outs.
class lmtp_client {
public:
    explicit lmtp_client(unique_fd fd) : fd_(std::move(fd)) {}

    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return false;
            }
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // The final line of the next (possibly multi-line) reply; nullopt on EOF, time-out or
    // garbage.
    std::optional<proto::lmtp_reply_line> reply() {
        while (true) {
            auto line = proto::take_lmtp_line(buf_);
            if (line.what == proto::lmtp_line::kind::too_long) {
                return std::nullopt;
            }
            if (line.what == proto::lmtp_line::kind::line) {
                auto r = proto::parse_lmtp_reply(line.text);
                buf_.erase(0, line.consumed);
                if (!r) {
                    return std::nullopt;
                }
                if (r->last) {
                    return r;
                }
                continue;
            }
            char chunk[4096];
            ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return std::nullopt;
            }
            buf_.append(chunk, static_cast<size_t>(n));
        }
    }

private:
    unique_fd fd_;
    std::string buf_;
};

}  // namespace

delivery_result result_from_reply(int code, std::string_view enhanced, std::string_view text) {
    std::string why = "lmtpd: " + std::string(text);
    if (code / 100 == 2) {
        return result_delivered(why);
    }
    std::string status(enhanced);
    if (code / 100 != 5) {
        return {code, status.empty() ? std::string(dsn::local_error.enhanced) : status, why,
                ex_tempfail};
    }
    if (status.empty()) {
        status = dsn::program_failed.enhanced;
    }
    int exit = ex_unavailable;
    if (status.starts_with("5.1.")) {
        exit = ex_nouser;
    } else if (status == dsn::mailbox_full.enhanced) {
        exit = ex_cantcreat;
    } else if (status == dsn::mail_loop.enhanced || status == dsn::too_big.enhanced) {
        exit = ex_dataerr;
    }
    return {code, status, why, exit};
}

std::optional<std::vector<delivery_result>> relay_to_lmtpd(const relay_request& req,
                                                           std::string_view lf_message) {
    std::string error;  // lmtpd not there to be asked: the caller delivers itself
    net::endpoint lmtpd;
    lmtpd.type = net::endpoint::kind::unix_socket;
    lmtpd.path = lmtpd.text = req.socket_path;
    unique_fd fd = net::connect_endpoint(lmtpd, req.timeout, error);
    if (!fd) {
        return std::nullopt;
    }
    lmtp_client c(std::move(fd));
    std::vector<delivery_result> results(req.recipients.size(),
                                         result_temp("lmtpd: connection lost"));
    auto greeting = c.reply();
    if (!greeting || greeting->code != 220 || !c.send("LHLO " + req.helo_name + "\r\n")) {
        return results;
    }
    auto lhlo = c.reply();
    if (!lhlo || lhlo->code != 250) {
        return results;
    }
    // PIPELINING (lmtpd offers it): MAIL, every RCPT and DATA in one write.
    std::string cmds = "MAIL FROM:" + proto::smtp_path(req.sender) + "\r\n";
    for (const auto& r : req.recipients) {
        cmds += "RCPT TO:" + proto::smtp_path(r);
        if (!req.original_recipient.empty()) {
            cmds += " ORCPT=rfc822;" + proto::encode_xtext(req.original_recipient);
        }
        cmds += "\r\n";
    }
    cmds += "DATA\r\n";
    if (!c.send(cmds)) {
        return results;
    }
    auto mail = c.reply();
    if (!mail) {
        return results;
    }
    std::vector<size_t> accepted;
    for (size_t i = 0; i < req.recipients.size(); ++i) {
        auto r = c.reply();
        if (!r) {
            return results;
        }
        if (mail->code / 100 != 2) {
            results[i] = result_from_reply(mail->code, mail->enhanced, mail->text);
        } else if (r->code / 100 != 2) {
            results[i] = result_from_reply(r->code, r->enhanced, r->text);
        } else {
            accepted.push_back(i);
        }
    }
    auto data = c.reply();
    if (!data || data->code != 354) {
        if (accepted.empty()) {
            (void)c.send("QUIT\r\n");
        }
        return results;  // the accepted ones stay "connection lost": temporary, retried
    }
    if (!c.send(proto::dot_stuff(lf_message))) {
        return results;
    }
    for (size_t i : accepted) {
        auto r = c.reply();
        if (!r) {
            return results;
        }
        results[i] = result_from_reply(r->code, r->enhanced, r->text);
    }
    (void)c.send("QUIT\r\n");
    return results;
}

}  // namespace vhostmail::deliver
