#include "flowgrpo/common/process.h"

#include "flowgrpo/common/error.h"

#include <torch/torch.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace flowgrpo {

namespace {

std::string rank_prefix() {
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank == nullptr && world == nullptr) {  // srun without torchrun
    rank = std::getenv("SLURM_PROCID");
    world = std::getenv("SLURM_NTASKS");
  }
  if (rank == nullptr || world == nullptr || std::atoi(world) <= 1) return "";
  return std::string("[rank ") + rank + "] ";
}

// "[rank N] <program>: error: <message>" on stderr.
void print_error(const std::string& program, const std::string& message) {
  std::fprintf(stderr, "%s%s: error: %s\n", rank_prefix().c_str(), program.c_str(), message.c_str());
}

}  // namespace

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  const char* opt_out = std::getenv("FLOWGRPO_MALLOC_TUNING");
  if (opt_out != nullptr && std::string(opt_out) == "0") return;
  // The user's own malloc settings win.
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::string(tunables).find("malloc") != std::string::npos) return;
  for (const char* v : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"})
    if (std::getenv(v) != nullptr) return;
  // Tensors of a few MB are allocated and freed thousands of times per second.
  // With glibc's defaults many of them are mmap'ed and unmapped, or the heap top
  // is trimmed and regrown, and every reuse page-faults the memory in again. Serve
  // them from the heap and keep freed memory: resident memory stays at the
  // high-water mark, which a training process reaches anyway.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest allowed value
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
#endif
}

void set_torch_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

void exit_on_error(const std::string& program, const std::exception& e) {
  print_error(program, exception_message(e));
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(1);
}

int run_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    print_error(program, exception_message(e));
  } catch (...) {
    print_error(program, "unknown exception");
  }
  return 1;
}

}  // namespace flowgrpo
