// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/lmtp_session.hh"

#include <cstring>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <vector>

#include "lib/core/address.hh"
#include "lib/core/dsn.hh"
#include "lib/core/strings.hh"
#include "lib/daemon/metrics_endpoint.hh"
#include "lib/db/from_config.hh"
#include "lib/log/log.hh"
#include "lib/proto/lmtp.hh"
#include "lib/proto/lmtp_data.hh"
#include "lib/store/fsync_timing.hh"

#include "daemons/deliver/message.hh"
#include "daemons/deliver/settings.hh"

namespace vhostmail::deliver {

lmtp_settings lmtp_settings_from(const config::config& cfg) {
    lmtp_settings s;
    s.delivery = delivery_settings_from(cfg);
    load_srs(s.delivery, cfg);
    s.idle_timeout = cfg.get_duration("lmtpd_idle_timeout");
    s.data_timeout = cfg.get_duration("lmtpd_data_timeout");
    s.max_message_size = cfg.get_size("deliver_max_message_size");
    s.max_recipients = static_cast<size_t>(cfg.get_int("lmtpd_max_recipients"));
    s.routing_copy = cfg.get_bool("lmtpd_routing_copy");
    s.routing_freshness.max_staleness = cfg.get_duration("lmtpd_max_staleness");
    s.transaction_time_limit = cfg.get_duration("lmtpd_transaction_time_limit");
    s.outbox.sendmail = s.delivery.sendmail;
    s.outbox.interval = cfg.get_duration("lmtpd_autoreply_retry_interval");
    s.outbox.lifetime = std::chrono::duration_cast<std::chrono::seconds>(
        cfg.get_duration("lmtpd_autoreply_lifetime"));
    s.outbox.time_limit = s.delivery.command_time_limit;
    s.outbox.limits = s.delivery.command_limits;
    return s;
}

namespace {

// Mailbox usage records (for policyd's quota check on every host) go to the database in
// batches this often; see sql_delivery_store.
constexpr std::chrono::milliseconds usage_write_interval{250};

unique_fd open_base(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error("cannot open deliver_mail_base " + path + ": " +
                                 std::strerror(errno));
    }
    return unique_fd(fd);
}

}  // namespace

lmtp_metrics::lmtp_metrics(metrics::registry& r)
    : meter_(r, "stage"),
      delivered_(meter_.series("recipient", "delivered", false)),
      deferred_(meter_.series("recipient", "deferred", true)),
      bounced_(meter_.series("recipient", "bounced", false)),
      bytes_(r.counters("vhostmail_delivered_bytes_total",
                        "Bytes of the messages delivered, once per recipient.")
                 .with()) {
    auto& fsyncs = r.histograms(
        "vhostmail_fsync_duration_seconds",
        "Time of the fsyncs of deliveries: a message file, or new/ (one per shared round).",
        {"kind"}, {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5});
    fsync_ = {&fsyncs.with({"file"}), &fsyncs.with({"directory"})};
    // The one fsync observer of the process: the lmtpd service makes one lmtp_metrics.
    store::set_fsync_observer([fsync = fsync_](std::string_view kind, double seconds) {
        fsync[kind == "file" ? 0 : 1]->observe(seconds);
    });
}

void lmtp_metrics::delivered(const delivery_result& result, size_t bytes,
                             std::chrono::steady_clock::time_point started) const {
    auto took = std::chrono::steady_clock::now() - started;
    if (result.delivered()) {
        delivered_.record(took);
        bytes_.add(bytes);
    } else if (result.temporary()) {
        deferred_.record(took);
    } else {
        bounced_.record(took);
    }
}

lmtpd_service::lmtpd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics)
    : settings_(lmtp_settings_from(*cfg)),
      base_fd_(open_base(cfg->get_string("deliver_mail_base"))),
      pool_(db_settings_from(*cfg)),
      store_(pool_, settings_.get()->delivery.hostname, usage_write_interval),
      outbox_(store_, settings_.get()->outbox),
      routing_(settings_.get()->routing_copy
                   ? std::optional(vhost::routing_source::copy_settings{
                         .db = db_settings_from(*cfg),
                         .refresh_interval = cfg->get_duration("lmtpd_refresh_interval"),
                         .outage_note = "mail is routed by direct database queries",
                         .metrics = &metrics}
                                       .per_host(*cfg, false))
                   : std::nullopt,
               &pool_),
      metrics_(metrics) {
    expose_pool(metrics, pool_);
    outbox_.count_sent_in(
        metrics.counters("vhostmail_vacation_replies_total", "Vacation replies sendmail took.")
            .with());
}

void lmtpd_service::reload(std::shared_ptr<const config::config> cfg) {
    auto s = lmtp_settings_from(*cfg);
    outbox_.set_settings(s.outbox);
    routing_.set_refresh_interval(cfg->get_duration("lmtpd_refresh_interval"));
    settings_.set(std::move(s));
}

void lmtpd_service::handle(net::connection& conn, const net::listener&) {
    auto s = settings_.get();
    directory_source directories = [this,
                                    s](bool from_database) -> std::unique_ptr<vhost::directory> {
        return routing_.open(s->routing_freshness, from_database || !s->routing_copy);
    };
    serve_lmtp(conn, *s, base_fd_.get(), directories, store_, &metrics_);
}

namespace {

struct recipient {
    std::string address;
    std::string original;
};

class session {
public:
    session(net::connection& conn, const lmtp_settings& s, int base_fd,
            const directory_source& directories, delivery_store& store, const lmtp_metrics* metrics)
        : conn_(conn),
          s_(s),
          base_fd_(base_fd),
          directories_(directories),
          store_(store),
          metrics_(metrics) {}

    void run();

private:
    bool flush();

    void reply(dsn::status status, std::string_view text) {
        reply(status.code, status.enhanced, text);
    }

    void reply(int code, std::string_view enhanced, std::string_view text) {
        out_ += proto::lmtp_reply(code, enhanced, text);
    }

    void reset() {
        sender_.reset();
        rcpts_.clear();
        dir_.reset();
    }

    bool command(const proto::lmtp_command& c);
    void rcpt(const proto::lmtp_command& c);
    bool data();

    net::connection& conn_;
    const lmtp_settings& s_;
    int base_fd_;
    const directory_source& directories_;
    delivery_store& store_;
    const lmtp_metrics* metrics_;
    std::string in_, out_;
    bool greeted_ = false;
    std::optional<std::string> sender_;
    std::vector<recipient> rcpts_;
    std::unique_ptr<vhost::directory> dir_;
    bool dir_from_database_ = false;
};

bool session::flush() {
    if (out_.empty()) {
        return true;
    }
    auto st = conn_.write_all(out_, std::chrono::seconds(60));
    out_.clear();
    return st == net::io_status::ok;
}

void session::run() {
    reply(220, "", s_.delivery.hostname + " LMTP vhostmail ready");
    bool discarding = false;  // inside an over-long line
    while (true) {
        auto line = proto::take_lmtp_line(in_);
        if (line.what == proto::lmtp_line::kind::need_more) {
            if (!flush()) {
                return;
            }
            // A command line, however it trickles in, within the idle timeout.
            auto st = conn_.read_request(in_, 65536, s_.idle_timeout, s_.idle_timeout);
            if (st != net::io_status::ok) {
                return;
            }
            continue;
        }
        std::string text(line.text);
        bool had_lf = line.consumed > 0 && in_[line.consumed - 1] == '\n';
        in_.erase(0, line.consumed);
        conn_.request_done();
        if (line.what == proto::lmtp_line::kind::too_long) {
            if (!discarding) {
                reply(dsn::bad_syntax, "Line too long");
            }
            discarding = !had_lf;
            continue;
        }
        if (discarding) {  // the tail of an over-long line
            discarding = false;
            continue;
        }
        auto parsed = proto::parse_lmtp_command(text);
        if (!parsed.ok) {
            reply(parsed.code, parsed.enhanced, parsed.error);
            continue;
        }
        if (!command(parsed.command)) {
            flush();
            return;
        }
    }
}

bool session::command(const proto::lmtp_command& c) {
    using proto::lmtp_verb;
    switch (c.verb) {
        case lmtp_verb::lhlo:
            greeted_ = true;
            reset();
            out_ += proto::lmtp_multiline(
                250, {s_.delivery.hostname, "PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME",
                      "SMTPUTF8", "SIZE " + std::to_string(s_.max_message_size)});
            return true;
        case lmtp_verb::mail: {
            if (!greeted_) {
                reply(dsn::bad_sequence, "Send LHLO first");
                return true;
            }
            if (sender_) {
                reply(dsn::bad_sequence, "Nested MAIL command");
                return true;
            }
            if (auto size = c.param("SIZE")) {
                char* end = nullptr;
                unsigned long long n = std::strtoull(size->c_str(), &end, 10);
                if (end == size->c_str() || *end != '\0') {
                    reply(dsn::bad_arguments, "Bad SIZE parameter");
                    return true;
                }
                if (n > s_.max_message_size) {
                    reply(dsn::too_big, "Message size exceeds fixed limit");
                    return true;
                }
            }
            sender_ = c.address;
            dir_ = directories_(false);
            dir_from_database_ = false;
            reply(dsn::sender_ok, "Sender OK");
            return true;
        }
        case lmtp_verb::rcpt:
            rcpt(c);
            return true;
        case lmtp_verb::data:
            if (!sender_ || rcpts_.empty()) {
                reply(dsn::bad_sequence, sender_ ? "No valid recipients" : "Need MAIL command");
                return true;
            }
            return data();
        case lmtp_verb::rset:
            reset();
            reply(dsn::ok, "Ok");
            return true;
        case lmtp_verb::noop:
            reply(dsn::ok, "Ok");
            return true;
        case lmtp_verb::vrfy:
            reply(dsn::cannot_verify, "Send some mail, I'll try my best");
            return true;
        case lmtp_verb::quit:
            reply(dsn::closing, "Bye");
            return false;
        default:
            reply(dsn::bad_syntax, "Command unrecognized");
            return true;
    }
}

void session::rcpt(const proto::lmtp_command& c) {
    if (!sender_) {
        reply(dsn::bad_sequence, "Need MAIL command");
        return;
    }
    if (rcpts_.size() >= s_.max_recipients) {
        reply(dsn::too_many_recipients, "Too many recipients");
        return;
    }
    if (!parse_address(c.address)) {
        reply(dsn::bad_recipient, "Bad recipient address syntax");
        return;
    }
    vhost::resolve_options opts = s_.delivery.resolve;
    opts.now = std::time(nullptr);
    auto r = vhost::resolve(*dir_, c.address, opts);
    if (r.status == lookup_status::not_found && !dir_from_database_) {
        // Maybe only the copy does not know it yet: ask the database, and route the rest of
        // this transaction from there (all its recipients resolve from one source at DATA).
        dir_ = directories_(true);
        dir_from_database_ = true;
        r = vhost::resolve(*dir_, c.address, opts);
    }
    if (r.status == lookup_status::temp_fail) {
        log::warning("to=<{}>: lookup failed: {}", log_field(c.address), r.reason);
        reply(dsn::local_error, "<" + c.address + "> Temporary lookup failure");
        return;
    }
    if (r.status == lookup_status::not_found) {
        reply(dsn::user_unknown, "<" + c.address + "> User unknown");
        return;
    }
    recipient rc{c.address, {}};
    if (auto orcpt = c.param("ORCPT")) {
        rc.original = proto::orcpt_address(*orcpt).value_or("");
    }
    rcpts_.push_back(std::move(rc));
    reply(dsn::recipient_ok, "Recipient OK");
}

bool session::data() {
    reply(354, "", "Send message; end with <CRLF>.<CRLF>");
    if (!flush()) {
        return false;
    }
    proto::data_decoder dec(s_.max_message_size);
    std::string message;
    auto deadline = std::chrono::steady_clock::now() + s_.data_timeout;
    while (true) {
        size_t used = dec.feed(in_, message);
        in_.erase(0, used);
        if (dec.done()) {
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || conn_.read_bulk(in_, 65536, left) != net::io_status::ok) {
            return false;  // nothing acknowledged: Postfix retries the whole transaction
        }
    }
    std::vector<std::pair<std::string, delivery_result>> done;
    if (dec.too_big()) {
        for (size_t i = 0; i < rcpts_.size(); ++i) {
            reply(dsn::too_big, "Message size exceeds fixed limit");
        }
        reset();
        return true;
    }
    // The routing copy was proven current at MAIL, perhaps minutes ago: ask again now.
    if (!dir_from_database_) {
        dir_ = directories_(false);
    }
    auto headers = parse_headers(message);
    delivery_agent agent(s_.delivery, base_fd_, *dir_, store_);
    // Each reply leaves as soon as it is final, so Postfix's lmtp_data_done_timeout runs per
    // recipient; recipients not started within the transaction's time limit are deferred, so
    // Postfix never gives up on a transaction we are still delivering (and then delivers again).
    auto stop_starting = std::chrono::steady_clock::now() + s_.transaction_time_limit;
    for (const auto& rc : rcpts_) {
        const delivery_result* result = nullptr;
        for (const auto& [addr, res] : done) {
            if (iequals(addr, rc.address)) {
                result = &res;
            }
        }
        if (result == nullptr) {
            envelope env{*sender_, rc.address, rc.original};
            auto started = std::chrono::steady_clock::now();
            done.emplace_back(rc.address,
                              started < stop_starting
                                  ? agent.deliver(env, message, headers)
                                  : result_temp("delivery time of this transaction used up: try"
                                                " again",
                                                dsn::too_slow));
            result = &done.back().second;
            if (metrics_ != nullptr) {
                metrics_->delivered(*result, message.size(), started);
            }
        }
        reply(result->code, result->enhanced, "<" + rc.address + "> " + result->text);
        if (!flush()) {
            return false;  // the rest stay unanswered: Postfix retries them
        }
    }
    reset();
    return true;
}

}  // namespace

void serve_lmtp(net::connection& conn, const lmtp_settings& settings, int base_fd,
                const directory_source& directories, delivery_store& store,
                const lmtp_metrics* metrics) {
    session(conn, settings, base_fd, directories, store, metrics).run();
}

}  // namespace vhostmail::deliver
