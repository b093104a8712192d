// SPDX-License-Identifier: Apache-2.0
// migrate.hh - schema migrations: sql/migrations/NNNN_name.sql files applied in numeric order
// and recorded in schema_version.
// Script syntax understood by split_sql_script (the subset of the mariadb client's that our
// migration files use):
//   statements end with the current delimiter (";" at first);
//   "DELIMITER xx" on its own line, at the start of a statement, changes it (case-insensitive);
//   -- comments (followed by a blank or end of line), # comments and /* */ comments are removed;
//   /*! ... */ and /*M! ... */ (versioned code) are kept;
//   '...' and "..." strings honour backslash escapes and doubled quotes; `...` identifiers
//   honour doubled backticks (a backslash is an ordinary character there, as in the server).
// Thread safety: split_sql_script and list_migrations are pure/reentrant; migrate and
// schema_status use the connection they are given (one thread at a time). Concurrent migrate
// calls from several hosts are serialized by the named lock 'vhostmail_migrate' (GET_LOCK).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/db/errors.hh"

namespace vhostmail::db {

// Splits a script into statements without delimiters, comments or surrounding blanks; empty
// statements are dropped. Never fails: an unterminated string or comment ends the script.
std::vector<std::string> split_sql_script(std::string_view text);

struct migration_file {
    unsigned version = 0;  // NNNN
    std::string name;      // the part after "NNNN_", without ".sql"
    std::filesystem::path path;
};

// The NNNN_name.sql files in `dir`, sorted by version. Other files are ignored. Errors
// (permanent, local_error::migration): unreadable directory, two files with one version.
outcome<std::vector<migration_file>> list_migrations(const std::filesystem::path& dir);

struct migrate_report {
    std::vector<unsigned> applied;  // versions applied by this run, ascending; empty if current
    unsigned schema_version = 0;    // highest recorded version after the run
};

// Brings the schema up to date: takes the named lock 'vhostmail_migrate', waiting up to 30 s
// (polled with GET_LOCK(name, 0), so the wait does not trip the read timeout; timeout: temporary
// local_error::lock_timeout), creates schema_version if missing, applies each file whose
// version is not recorded (execute_script) and records it right after. Idempotent. Refuses
// (permanent, local_error::migration) when the database has a version newer than every file.
// A failing file is not recorded; the error names the file and the statement. Files must be
// safe to re-run (MariaDB DDL is not transactional). Each statement must finish within the
// connection's read_timeout: open the migrating connection with a generous one (minutes), not
// the daemons' few seconds.
outcome<migrate_report> migrate(connection& conn, const std::filesystem::path& migrations_dir);

struct migration_state {
    unsigned version = 0;
    std::string name;
    bool applied = false;       // recorded in schema_version
    bool file_present = false;  // a file exists for it in the directory
    std::string applied_at;     // 'YYYY-MM-DD hh:mm:ss' (server time), empty when pending
};

// Applied and pending migrations, by version; versions recorded in the database without a file
// are listed with file_present = false. A missing schema_version table means nothing applied.
outcome<std::vector<migration_state>> schema_status(connection& conn,
                                                    const std::filesystem::path& migrations_dir);

}  // namespace vhostmail::db
