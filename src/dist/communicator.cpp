#include "flowgrpo/dist/communicator.h"

#include <cstdlib>
#include <stdexcept>

namespace flowgrpo::dist {

void Communicator::all_reduce_mean(torch::Tensor& tensor) {
  all_reduce_sum(tensor);
  if (world_size() > 1) tensor.div_(world_size());
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, int timeout_seconds) {
  const char* world_env = std::getenv("WORLD_SIZE");
  const int world = world_env != nullptr ? std::atoi(world_env) : 1;
  if (world_env != nullptr && world < 1)
    throw std::invalid_argument(std::string("environment variable WORLD_SIZE='") + world_env +
                                "' is not a positive integer");
  if (world == 1 || backend == "none") {
    if (world > 1)
      throw std::invalid_argument("dist.backend = none but WORLD_SIZE = " + std::to_string(world));
    return std::make_unique<SingleProcessCommunicator>();
  }
  const char* rank_env = std::getenv("RANK");
  if (rank_env == nullptr)
    throw std::invalid_argument("WORLD_SIZE > 1 but environment variable RANK is not set");
  const int rank = std::atoi(rank_env);
  if (rank < 0 || rank >= world)
    throw std::invalid_argument(std::string("environment variable RANK='") + rank_env + "' outside [0, " +
                                std::to_string(world) + ")");
#if FLOWGRPO_WITH_DISTRIBUTED
  return make_c10d_communicator(backend, rank, world, timeout_seconds);
#else
  (void)timeout_seconds;
  throw std::invalid_argument("WORLD_SIZE = " + std::to_string(world) +
                              " but this build has no distributed support (FLOWGRPO_WITH_DISTRIBUTED=OFF)");
#endif
}

}  // namespace flowgrpo::dist
