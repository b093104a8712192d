// SPDX-License-Identifier: Apache-2.0
// program_wire.hh - the two messages between a daemon and its program runner (sandbox.hh): a
// request to run one program, and its result. Pure: no I/O. The runner may hold the right to
// switch users, so it decodes every request as hostile: bounded, exact, no NUL in any string.
//
// Request (one SEQPACKET message; integers little-endian):
//   "VHR1" u32 time_limit_ms u8 flags u64 memory_limit u64 file_size_limit u32 process_limit
//   u16 argc u16 envc { u32 length, bytes } x (argc + envc)
//   flags: 1 = as_command_user, 2 = may_run_as_self; other bits must be 0.
//   Limits: argc 1..256, envc <= 64, each string <= 8192 bytes, message <= 65536 bytes;
//   argv[0] absolute; env entries "NAME=value".
// Result: "VHS1" u8 kind i32 status u16 length, error bytes (<= 512).
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::os {

inline constexpr size_t max_program_request = 65536;
inline constexpr size_t max_program_args = 256;
inline constexpr size_t max_program_env = 64;
inline constexpr size_t max_program_string = 8192;
inline constexpr size_t max_program_error = 512;

struct program_request {
    std::vector<std::string> argv;  // argv[0]: absolute path of the program
    std::vector<std::string> env;   // the whole environment, "NAME=value"
    uint32_t time_limit_ms = 60000;
    bool as_command_user = false;  // named by the database: run as the dedicated command user
    bool may_run_as_self = false;  // ... or as the daemon's own user when there is none
    uint64_t memory_limit = 0;     // RLIMIT_AS bytes; 0: none
    uint64_t file_size_limit = 0;  // RLIMIT_FSIZE bytes; 0: none
    uint32_t process_limit = 0;    // RLIMIT_NPROC, applied as the command user only; 0: none
};

struct program_result {
    enum class kind : uint8_t {
        exited,          // status: exit status
        signaled,        // status: the signal
        timed_out,       // killed at the time limit
        output_too_big,  // killed: more output than the caller takes
        failed,          // never ran (refused, spawn error, runner gone): see error
    } what = kind::failed;
    int status = 0;
    std::string output;  // captured stdout (not on the wire)
    std::string error;   // failed: why
};

std::string encode_program_request(const program_request& r);

// nullopt for anything but a well-formed request within the limits above.
std::optional<program_request> decode_program_request(std::string_view bytes);

std::string encode_program_result(const program_result& r);
std::optional<program_result> decode_program_result(std::string_view bytes);

}  // namespace vhostmail::os
