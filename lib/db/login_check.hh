// SPDX-License-Identifier: Apache-2.0
// login_check.hh - a database that refuses the daemons' login is a configuration error, not an
// outage. Both end in temporary failures towards Postfix (nothing bounces), but an outage ends
// by itself while a wrong password lasts until an admin acts: so it is said as an error, with
// what to check, again and again while it lasts, and -t reports it before a start.
// Thread safety: check_db_login is reentrant; a db_login_watch runs its own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "lib/db/settings.hh"

namespace vhostmail {

enum class db_login { ok, refused, unreachable };

struct db_login_result {
    db_login what = db_login::unreachable;
    std::string message;  // for refused and unreachable: the server's or client's words
};

// One connection attempt (the hosts in order, as the pool tries them).
db_login_result check_db_login(const db::settings& s);

// The line an admin reads for a refusal.
std::string login_refused_text(const db_login_result& r);

// From construction on, checks the login at once and then every `interval` while the server
// refuses it, logging each refusal at error level; stops when the login works (saying so if
// it had failed) or when destroyed.
class db_login_watch {
public:
    db_login_watch(db::settings s, std::chrono::milliseconds interval);
    ~db_login_watch();
    db_login_watch(const db_login_watch&) = delete;
    db_login_watch& operator=(const db_login_watch&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace vhostmail
