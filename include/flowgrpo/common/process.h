#pragma once
/// @file process.h
/// What every flowgrpo executable does at its boundary: choose thread settings
/// that work on small CPUs, and turn any exception into one clear line on stderr
/// and a non-zero exit status (library code throws; only `main` catches).

#include <functional>
#include <string>

namespace flowgrpo {

/// Makes the OpenMP runtime sleep rather than spin when idle, unless the user set
/// OMP_WAIT_POLICY. Debian's OpenBLAS keeps its own thread pool next to libgomp's,
/// and spinning libgomp workers starve it: a mid-size transformer forward ran
/// 1.6-1.8x slower on 2 cores (measured; see docs/performance.md). libgomp reads
/// the variable when it is loaded, so the process re-executes itself once with
/// the variable set (argv unchanged). Returns normally when nothing needs doing
/// or the re-exec fails. Call first thing in main().
void use_passive_openmp_wait_policy(char** argv);

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

}  // namespace flowgrpo
