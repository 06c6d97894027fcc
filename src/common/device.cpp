#include "flowgrpo/common/device.h"

#include <cstdlib>
#include <stdexcept>

namespace flowgrpo {

torch::Device parse_device(const std::string& name) {
  if (name == "cuda") {
    const char* local = std::getenv("LOCAL_RANK");
    if (local == nullptr && std::getenv("RANK") == nullptr) local = std::getenv("SLURM_LOCALID");
    int index = local != nullptr ? std::atoi(local) : 0;
#if FLOWGRPO_WITH_CUDA
    // One visible GPU (the scheduler bound one per task): that one.
    if (torch::cuda::is_available() && torch::cuda::device_count() == 1) index = 0;
#endif
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  try {
    return torch::Device(name);
  } catch (const std::exception&) {
    throw std::invalid_argument("not a device: '" + name + "' (expected cpu, cuda or cuda:<index>)");
  }
}

}  // namespace flowgrpo
