#include "flowgrpo/common/process.h"

#include "flowgrpo/common/error.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace flowgrpo {

namespace {

std::string rank_prefix() {
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank == nullptr || world == nullptr || std::atoi(world) <= 1) return "";
  return std::string("[rank ") + rank + "] ";
}

}  // namespace

void use_passive_openmp_wait_policy(char** argv) {
  // After the exec the variable is set, so this runs at most once.
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  // Exec failed (no /proc?): carry on with the default policy.
}

void set_torch_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

int run_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s: error: %s\n", rank_prefix().c_str(), program.c_str(),
                 exception_message(e).c_str());
  } catch (...) {
    std::fprintf(stderr, "%s%s: error: unknown exception\n", rank_prefix().c_str(), program.c_str());
  }
  return 1;
}

}  // namespace flowgrpo
