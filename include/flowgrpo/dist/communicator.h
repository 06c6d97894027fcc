#pragma once
/// @file communicator.h
/// The collective operations the trainer needs, behind one interface: a
/// single-process implementation that is always built, and a c10d one (Gloo on
/// CPU, NCCL on CUDA) when LibTorch provides c10d (FLOWGRPO_WITH_DISTRIBUTED).
/// All operations are blocking and must be called by every rank in the same order.

#include <torch/torch.h>

#include <memory>
#include <string>

namespace flowgrpo::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool is_main() const { return rank() == 0; }
  /// In-place element-wise sum over ranks.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  /// Concatenation of every rank's `tensor` along dim 0, rank-major. Shapes must match.
  virtual torch::Tensor all_gather(const torch::Tensor& tensor) = 0;
  /// In-place broadcast from `root`.
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  virtual void barrier() = 0;
  /// "single process", "gloo (rank 1 of 4)", ...
  virtual std::string description() const = 0;

  /// In-place mean over ranks (sum then divide: AVG is NCCL-only).
  void all_reduce_mean(torch::Tensor& tensor);
};

/// One process: every collective is the identity.
class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(torch::Tensor&) override {}
  torch::Tensor all_gather(const torch::Tensor& tensor) override { return tensor.clone(); }
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
  std::string description() const override { return "single process"; }
};

/// Builds the communicator the environment asks for: single-process unless
/// WORLD_SIZE > 1 (torchrun / Slurm-style RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT),
/// in which case the c10d backend `backend` ("auto", "gloo", "nccl").
/// @throws std::invalid_argument naming a missing or malformed variable, or when
///         a multi-process run is asked for in a build without c10d.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, int timeout_seconds);

#if FLOWGRPO_WITH_DISTRIBUTED
/// The c10d communicator for an explicit rank and world size (rendezvous through
/// MASTER_ADDR / MASTER_PORT). make_communicator() calls it with RANK / WORLD_SIZE.
std::unique_ptr<Communicator> make_c10d_communicator(const std::string& backend, int rank, int world_size,
                                                     int timeout_seconds);
#endif

}  // namespace flowgrpo::dist
