#pragma once
/// @file device.h
/// Device names in configs ("cpu", "cuda", "cuda:1"). A bare "cuda" is this
/// process's GPU: CUDA device LOCAL_RANK (torchrun) or SLURM_LOCALID (srun), 0 for a
/// single process, so that a reward model configured with `device: cuda` runs beside
/// its rank's policy instead of every rank crowding GPU 0.

#include <torch/torch.h>

#include <string>

namespace flowgrpo {

/// @throws std::invalid_argument for a name LibTorch does not parse.
torch::Device parse_device(const std::string& name);

}  // namespace flowgrpo
