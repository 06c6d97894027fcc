#pragma once
/// @file process.h
/// What every flowgrpo executable does at its boundary: tune the allocator and
/// threads for tensor workloads, and turn any exception into one clear line on
/// stderr and a non-zero exit status (library code throws; only `main` catches).

#include <exception>
#include <functional>
#include <string>

namespace flowgrpo {

/// Tunes glibc's allocator for tensor workloads: freed blocks stay in the process
/// instead of being unmapped and faulted in again (on ShapesEval evaluation, 87x
/// fewer page faults, half the system time, 23% less wall time; measured in
/// docs/performance.md). Skipped when the user set GLIBC_TUNABLES malloc options,
/// MALLOC_*_ variables, or FLOWGRPO_MALLOC_TUNING=0; a no-op without glibc.
/// Call early in main().
void keep_freed_memory_for_reuse();

/// Sets LibTorch's intra-op threads when `threads` > 0 (else keeps the default).
void set_torch_threads(int threads);

/// Runs `body` and converts exceptions into "<program>: error: <message>" on
/// stderr (with "[rank N] " prepended when RANK is set and WORLD_SIZE > 1) and
/// exit status 1. Returns body's status otherwise.
int run_main(const std::string& program, const std::function<int()>& body);

/// Prints `e` as run_main does and ends the process at once with status 1, without
/// unwinding: for a failed collective, after which tearing down the process group
/// could wait on a peer that is gone.
[[noreturn]] void exit_on_error(const std::string& program, const std::exception& e);

}  // namespace flowgrpo
