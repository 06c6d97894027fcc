#include "flowgrpo/common/build_info.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>

namespace flowgrpo {

std::string build_info() {
  std::ostringstream os;
  os << "flowgrpo " << FLOWGRPO_VERSION << ", LibTorch " << TORCH_VERSION << ", CUDA "
     << (FLOWGRPO_WITH_CUDA ? "on" : "off")
     << (FLOWGRPO_WITH_CUDA && torch::cuda::is_available() ? " (device available)" : "") << ", distributed "
     << (FLOWGRPO_WITH_DISTRIBUTED ? (FLOWGRPO_WITH_CUDA ? "on (gloo, nccl)" : "on (gloo)") : "off");
  return os.str();
}

}  // namespace flowgrpo
