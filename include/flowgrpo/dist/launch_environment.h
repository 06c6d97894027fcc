#pragma once
/// @file launch_environment.h
/// Which process of a multi-process run this is, as its launcher says: torchrun's
/// variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
/// MASTER_PORT) or, when RANK and WORLD_SIZE are absent and this is a task of an srun
/// job step (SLURM_STEP_ID or SLURM_STEP_NUM_TASKS set), Slurm's (SLURM_PROCID,
/// SLURM_STEP_NUM_TASKS or SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE, with
/// MASTER_ADDR/MASTER_PORT set by the job script; docs/distributed.md). Nothing set,
/// or a batch script's own shell, means one process.

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

namespace flowgrpo::dist {

struct LaunchEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  /// Processes on this node, when the launcher says (LOCAL_WORLD_SIZE); 0 = unknown.
  int local_world_size = 0;
  /// "single process", "torchrun" (or any env:// launcher) or "slurm".
  std::string source = "single process";
  std::string master_addr;  ///< "" for one process
  int master_port = 0;

  bool distributed() const { return world_size > 1; }
  /// "rank 3 of 8 (local rank 1, torchrun, rendezvous 10.0.0.1:29500)".
  std::string describe() const;
};

/// Reads the launch from a variable lookup (the process environment by default).
/// @throws std::invalid_argument naming the variable that is missing, not an
///         integer, or inconsistent with the others (WORLD_SIZE without RANK, a
///         RANK outside [0, WORLD_SIZE), LOCAL_RANK >= LOCAL_WORLD_SIZE, a
///         distributed launch without MASTER_ADDR or MASTER_PORT, ...).
LaunchEnvironment read_launch_environment(
    const std::function<std::optional<std::string>(const std::string&)>& lookup = {});

/// The device this process computes on: CUDA device LOCAL_RANK when the build and the
/// machine have CUDA (one GPU per local rank), the CPU otherwise.
/// @throws std::invalid_argument when LOCAL_RANK names a GPU this node does not have.
torch::Device local_device(const LaunchEnvironment& launch);

}  // namespace flowgrpo::dist
