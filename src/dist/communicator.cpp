#include "flowgrpo/dist/communicator.h"

#include <algorithm>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace flowgrpo::dist {

#if FLOWGRPO_WITH_DISTRIBUTED
std::unique_ptr<Communicator> make_c10d_communicator(const LaunchEnvironment& launch,
                                                     const std::string& backend, int timeout_seconds);
#endif

namespace {
class CompletedCollective final : public PendingCollective {
 public:
  void wait() override {}
};
}  // namespace

std::unique_ptr<PendingCollective> SingleProcessCommunicator::all_reduce_sum_async(torch::Tensor&,
                                                                                   std::string_view) {
  return std::make_unique<CompletedCollective>();
}

void Communicator::all_reduce_mean(torch::Tensor& tensor, std::string_view label) {
  all_reduce_sum(tensor, label);
  if (world_size() > 1) tensor.div_(world_size());
}

std::string Communicator::broadcast_text(const std::string& text, std::string_view label) {
  if (world_size() == 1) return text;
  auto size = torch::full({1}, static_cast<int64_t>(text.size()), torch::kLong);
  broadcast(size, 0, label);
  auto bytes = torch::zeros({size.item<int64_t>()}, torch::kUInt8);
  if (is_main()) std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), text.size());
  broadcast(bytes, 0, label);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()),
                     static_cast<size_t>(bytes.numel()));
}

std::vector<std::string> Communicator::all_gather_text(const std::string& text, std::string_view label) {
  if (world_size() == 1) return {text};
  const auto sizes = all_gather(torch::full({1}, static_cast<int64_t>(text.size()), torch::kLong), label);
  const int64_t longest = std::max<int64_t>(1, sizes.max().item<int64_t>());
  auto bytes = torch::zeros({longest}, torch::kUInt8);
  std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), text.size());
  const auto all = all_gather(bytes, label).contiguous();
  std::vector<std::string> out;
  for (int r = 0; r < world_size(); ++r)
    out.emplace_back(reinterpret_cast<const char*>(all.data_ptr<uint8_t>()) + r * longest,
                     static_cast<size_t>(sizes[r].item<int64_t>()));
  return out;
}

std::unique_ptr<Communicator> make_communicator(const LaunchEnvironment& launch, const std::string& backend,
                                                int timeout_seconds) {
  if (!launch.distributed()) return std::make_unique<SingleProcessCommunicator>();
  if (backend == "none")
    throw std::invalid_argument("dist.backend = none but the launch has " +
                                std::to_string(launch.world_size) + " processes (" + launch.source + ")");
#if FLOWGRPO_WITH_DISTRIBUTED
  return make_c10d_communicator(launch, backend, timeout_seconds);
#else
  (void)timeout_seconds;
  throw std::invalid_argument("the launch has " + std::to_string(launch.world_size) + " processes (" +
                              launch.source +
                              ") but this build has no distributed support (FLOWGRPO_WITH_DISTRIBUTED=OFF)");
#endif
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend, int timeout_seconds) {
  return make_communicator(read_launch_environment(), backend, timeout_seconds);
}

void check_same_config_on_all_ranks(Communicator& comm, const std::string& canonical_config) {
  if (comm.world_size() == 1) return;
  const auto reference = comm.broadcast_text(canonical_config, "configuration check");
  const bool differs = reference != canonical_config;
  auto flags = torch::zeros({comm.world_size()}, torch::kLong);
  flags[comm.rank()] = differs ? 1 : 0;
  comm.all_reduce_sum(flags, "configuration check");
  std::vector<int> ranks;
  for (int r = 0; r < comm.world_size(); ++r)
    if (flags[r].item<int64_t>() != 0) ranks.push_back(r);
  if (ranks.empty()) return;
  std::ostringstream msg;
  msg << "the ranks were started with different configurations: rank";
  if (ranks.size() > 1) msg << "s";
  for (size_t i = 0; i < ranks.size(); ++i) msg << (i ? ", " : " ") << ranks[i];
  msg << " differ" << (ranks.size() > 1 ? "" : "s") << " from rank 0";
  if (differs) {
    // The first line that differs names the key.
    std::istringstream mine(canonical_config), theirs(reference);
    std::string a, b, section;
    int line = 0;
    while (true) {
      const bool more_a = static_cast<bool>(std::getline(mine, a));
      const bool more_b = static_cast<bool>(std::getline(theirs, b));
      ++line;
      if (!more_a && !more_b) break;
      if (!more_a) a = "<end>";
      if (!more_b) b = "<end>";
      if (a != b) {
        msg << "; line " << line << " of the resolved config";
        if (!section.empty()) msg << " (under '" << section << "')";
        msg << " is '" << a << "' here and '" << b << "' on rank 0";
        break;
      }
      if (!a.empty() && a[0] != ' ' && a[0] != '-') section = a;
    }
  }
  msg << " (launch every rank with the same --config and --set options)";
  throw std::invalid_argument(msg.str());
}

}  // namespace flowgrpo::dist
