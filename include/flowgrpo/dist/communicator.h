#pragma once
/// @file communicator.h
/// The collective operations the trainer needs, behind one interface: a
/// single-process implementation that is always built, and a c10d one (Gloo on
/// CPU, NCCL on CUDA) when LibTorch provides c10d (FLOWGRPO_WITH_DISTRIBUTED).
/// Every operation must be called by every rank in the same order. Each takes a
/// label ("gradients", "epoch rewards", ...) that a failure names: when a peer dies
/// or hangs, the collective throws CollectiveError naming the collective, its
/// sequence number and the rank(s) responsible, within dist.timeout_seconds.
/// Tensors may live on any device; the NCCL backend stages CPU tensors on the
/// rank's GPU and back.

#include "flowgrpo/dist/launch_environment.h"

#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flowgrpo::dist {

/// A collective that failed: a peer died, hung past the timeout, or the network failed.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An all-reduce in flight (Communicator::all_reduce_sum_async).
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  /// Blocks until the result is in the tensor. @throws CollectiveError
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool is_main() const { return rank() == 0; }
  /// In-place element-wise sum over ranks.
  virtual void all_reduce_sum(torch::Tensor& tensor, std::string_view label) = 0;
  /// Starts an in-place sum; `tensor` must stay untouched until wait() returns. Calls
  /// are matched across ranks in the order they are made.
  virtual std::unique_ptr<PendingCollective> all_reduce_sum_async(torch::Tensor& tensor,
                                                                  std::string_view label) = 0;
  /// Concatenation of every rank's `tensor` along dim 0, rank-major. Shapes must match.
  virtual torch::Tensor all_gather(const torch::Tensor& tensor, std::string_view label) = 0;
  /// In-place broadcast from `root`.
  virtual void broadcast(torch::Tensor& tensor, int root, std::string_view label) = 0;
  virtual void barrier(std::string_view label) = 0;
  /// Work only rank 0 does, of unknown length (loading the model, building the
  /// prompt-embedding cache): every rank calls this, rank 0 once done; the others wait
  /// without a time limit while rank 0 is alive. @throws CollectiveError when rank 0
  /// is gone.
  virtual void wait_for_main(std::string_view label) = 0;
  /// Tells the other ranks that this one is failing with `message` (best effort), so
  /// that those that opted in (stop_when_a_peer_fails) stop at once, instead of at
  /// their next collective or its timeout.
  virtual void announce_failure(const std::string& message) { (void)message; }
  /// Opt-in for executables: when another rank announces a failure, print
  /// "<program>: error: rank R failed: <message>" and end this process with status 1
  /// (from a background thread, within about a second).
  virtual void stop_when_a_peer_fails(const std::string& program) { (void)program; }
  /// "single process", "gloo (rank 1 of 4)", ...
  virtual std::string description() const = 0;

  /// In-place mean over ranks (sum then divide: AVG is NCCL-only).
  void all_reduce_mean(torch::Tensor& tensor, std::string_view label);
  /// Rank 0's `text` on every rank.
  std::string broadcast_text(const std::string& text, std::string_view label);
  /// Every rank's `text`, by rank.
  std::vector<std::string> all_gather_text(const std::string& text, std::string_view label);
};

/// One process: every collective is the identity.
class SingleProcessCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(torch::Tensor&, std::string_view) override {}
  std::unique_ptr<PendingCollective> all_reduce_sum_async(torch::Tensor&, std::string_view) override;
  torch::Tensor all_gather(const torch::Tensor& tensor, std::string_view) override { return tensor.clone(); }
  void broadcast(torch::Tensor&, int, std::string_view) override {}
  void barrier(std::string_view) override {}
  void wait_for_main(std::string_view) override {}
  std::string description() const override { return "single process"; }
};

/// Builds the communicator the launch asks for: single-process unless the launch
/// environment (launch_environment.h) has several processes, in which case the c10d
/// backend `backend` ("auto", "gloo", "nccl"); "none" refuses a multi-process launch.
/// @throws std::invalid_argument naming a missing or malformed variable, or when a
///         multi-process run is asked for in a build without c10d.
std::unique_ptr<Communicator> make_communicator(const LaunchEnvironment& launch, const std::string& backend,
                                                int timeout_seconds);
/// The same, reading the process environment.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, int timeout_seconds);

/// Stops the run unless every rank was started with the same configuration: compares
/// `canonical_config` (the full resolved config text) with rank 0's. Every rank throws
/// std::invalid_argument naming the ranks that differ; a differing rank also names the
/// first line where its configuration and rank 0's part.
void check_same_config_on_all_ranks(Communicator& comm, const std::string& canonical_config);

}  // namespace flowgrpo::dist
