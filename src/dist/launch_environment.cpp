#include "flowgrpo/dist/launch_environment.h"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace flowgrpo::dist {

namespace {

std::optional<std::string> from_process_environment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

class Reader {
 public:
  explicit Reader(std::function<std::optional<std::string>(const std::string&)> lookup)
      : lookup_(std::move(lookup)) {}

  std::optional<std::string> text(const std::string& name) const { return lookup_(name); }
  bool has(const std::string& name) const { return lookup_(name).has_value(); }

  std::optional<int> integer(const std::string& name, int min_value) const {
    const auto v = lookup_(name);
    if (!v) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long parsed = std::strtol(v->c_str(), &end, 10);
    if (errno != 0 || end == v->c_str() || *end != '\0' || parsed < min_value || parsed > 1 << 24)
      throw std::invalid_argument("distributed launch: environment variable " + name + "='" + *v +
                                  "' is not an integer >= " + std::to_string(min_value));
    return static_cast<int>(parsed);
  }

  int required(const std::string& name, int min_value, const std::string& because) const {
    const auto v = integer(name, min_value);
    if (!v)
      throw std::invalid_argument("distributed launch: environment variable " + name + " is not set (" +
                                  because + ")");
    return *v;
  }

 private:
  std::function<std::optional<std::string>(const std::string&)> lookup_;
};

}  // namespace

std::string LaunchEnvironment::describe() const {
  if (!distributed()) return "single process";
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (local rank " +
         std::to_string(local_rank) + ", " + source + ", rendezvous " + master_addr + ":" +
         std::to_string(master_port) + ")";
}

LaunchEnvironment read_launch_environment(
    const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  const Reader env(lookup ? lookup : from_process_environment);
  LaunchEnvironment out;
  if (env.has("WORLD_SIZE") || env.has("RANK")) {
    // torchrun, or any launcher of torch.distributed's env:// rendezvous.
    out.source = "torchrun";
    out.world_size = env.required("WORLD_SIZE", 1, "RANK is set; torchrun sets both");
    out.rank = env.required("RANK", 0, "WORLD_SIZE is set; torchrun sets both");
    if (out.rank >= out.world_size)
      throw std::invalid_argument("distributed launch: RANK=" + std::to_string(out.rank) +
                                  " is outside [0, WORLD_SIZE=" + std::to_string(out.world_size) + ")");
    const bool many = out.world_size > 1;
    out.local_rank = many ? env.required("LOCAL_RANK", 0, "it picks this process's GPU; torchrun sets it")
                          : env.integer("LOCAL_RANK", 0).value_or(0);
    out.local_world_size = env.integer("LOCAL_WORLD_SIZE", 1).value_or(0);
    if (out.local_world_size > 0 && out.local_rank >= out.local_world_size)
      throw std::invalid_argument("distributed launch: LOCAL_RANK=" + std::to_string(out.local_rank) +
                                  " is outside [0, LOCAL_WORLD_SIZE=" + std::to_string(out.local_world_size) +
                                  ")");
    if (out.local_world_size > out.world_size)
      throw std::invalid_argument(
          "distributed launch: LOCAL_WORLD_SIZE=" + std::to_string(out.local_world_size) +
          " exceeds WORLD_SIZE=" + std::to_string(out.world_size));
  } else if (env.has("SLURM_PROCID") && (env.has("SLURM_STEP_ID") || env.has("SLURM_STEP_NUM_TASKS")) &&
             env.integer("SLURM_STEP_NUM_TASKS", 1).value_or(env.integer("SLURM_NTASKS", 1).value_or(1)) >
                 1) {
    // Inside a job step (srun sets SLURM_STEP_ID / SLURM_STEP_NUM_TASKS); a batch
    // script's own shell also has SLURM_PROCID and the allocation's SLURM_NTASKS, but
    // is one process.
    // srun starts one task per process: SLURM_PROCID is the rank. The step's task
    // count (set by srun) wins over the allocation's.
    out.source = "slurm";
    const auto step_tasks = env.integer("SLURM_STEP_NUM_TASKS", 1);
    out.world_size = step_tasks ? *step_tasks : env.required("SLURM_NTASKS", 1, "SLURM_PROCID is set");
    out.rank = env.required("SLURM_PROCID", 0, "SLURM_NTASKS is set");
    if (out.rank >= out.world_size)
      throw std::invalid_argument("distributed launch: SLURM_PROCID=" + std::to_string(out.rank) +
                                  " is outside [0, SLURM_NTASKS=" + std::to_string(out.world_size) + ")");
    out.local_rank = env.required("SLURM_LOCALID", 0, "it picks this task's GPU; srun sets it");
    if (const auto per_node = env.text("SLURM_NTASKS_PER_NODE")) {
      // "4" or "4(x2)": the count before any repetition suffix.
      const auto n = std::atoi(per_node->c_str());
      if (n > 0) out.local_world_size = n;
      if (n > 0 && out.local_rank >= n)
        throw std::invalid_argument("distributed launch: SLURM_LOCALID=" + std::to_string(out.local_rank) +
                                    " is outside [0, SLURM_NTASKS_PER_NODE=" + *per_node + ")");
    }
  } else {
    return out;
  }
  if (!out.distributed()) return out;
  const std::string hint = out.source == "slurm"
                               ? "the job script exports it before srun, e.g. MASTER_ADDR=$(scontrol show "
                                 "hostnames \"$SLURM_JOB_NODELIST\" | head -n 1); see docs/distributed.md"
                               : "torchrun sets it";
  const auto addr = env.text("MASTER_ADDR");
  if (!addr)
    throw std::invalid_argument("distributed launch (" + out.source +
                                "): environment variable MASTER_ADDR is not set (" + hint + ")");
  out.master_addr = *addr;
  out.master_port = env.required("MASTER_PORT", 1, hint);
  if (out.master_port > 65535)
    throw std::invalid_argument("distributed launch: MASTER_PORT=" + std::to_string(out.master_port) +
                                " is not a TCP port");
  return out;
}

torch::Device local_device(const LaunchEnvironment& launch) {
#if FLOWGRPO_WITH_CUDA
  if (torch::cuda::is_available()) {
    const auto count = static_cast<int>(torch::cuda::device_count());
    // A scheduler that binds one GPU per task (srun --gpus-per-task=1, --gpu-bind)
    // leaves each process one visible device, whatever its local rank.
    if (count == 1) return torch::Device(torch::kCUDA, 0);
    if (launch.local_rank >= count)
      throw std::invalid_argument(
          "distributed launch: local rank " + std::to_string(launch.local_rank) + " needs CUDA device " +
          std::to_string(launch.local_rank) + " but this node has " + std::to_string(count) +
          " (one process per GPU: --nproc-per-node <= " + std::to_string(count) + ")");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(launch.local_rank));
  }
#endif
  (void)launch;
  return torch::kCPU;
}

}  // namespace flowgrpo::dist
