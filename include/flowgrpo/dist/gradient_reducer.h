#pragma once
/// @file gradient_reducer.h
/// Sums the trainable parameters' gradients over ranks, in flattened buckets: one
/// collective per bucket (not one per tensor, and not one copy of the whole adapter),
/// buckets of about `bucket_bytes`, in the reverse order of the parameters, which is
/// roughly the order backward produces their gradients. When armed before the last
/// backward pass of an optimizer step, gradient hooks copy each parameter's final
/// gradient into its bucket as autograd produces it, and a bucket's all-reduce starts
/// as soon as it is complete, overlapping with the rest of the backward pass (as
/// PyTorch DDP's Reducer does). Buckets are always started in the same order on every
/// rank, which is what matches them across ranks; a bucket whose gradients never
/// arrive (a rank with no samples in the last micro-batch) is filled and started by
/// reduce().

#include "flowgrpo/dist/communicator.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace flowgrpo::dist {

class GradientReducer {
 public:
  struct Options {
    int64_t bucket_bytes = 25ll << 20;  ///< DDP's default bucket size
    bool overlap = true;                ///< start buckets from gradient hooks (arm())
  };

  /// @param params the parameters whose .grad is reduced (all on one device; any dtypes:
  ///        a bucket holds one dtype).
  GradientReducer(Communicator& comm, std::vector<torch::Tensor> params, Options options);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// The next backward pass is the last before reduce(): its hooks start the buckets.
  /// A no-op without Options::overlap.
  void arm();
  /// Replaces every parameter's .grad by its sum over ranks (an undefined .grad counts
  /// as zeros and is defined afterwards). Blocks until done. @throws CollectiveError
  void reduce();

  /// Elements per bucket, in launch order.
  std::vector<int64_t> bucket_sizes() const;

 private:
  struct Slot {
    size_t param;
    int64_t offset;
    bool ready = false;
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<Slot> slots;
    size_t pending = 0;
    std::unique_ptr<PendingCollective> work;
  };
  void on_gradient(size_t bucket, size_t slot, const torch::Tensor& incoming);
  void fill(Bucket& b, Slot& s);
  void launch_ready();  // under mutex_
  void launch(size_t bucket);

  Communicator& comm_;
  std::vector<torch::Tensor> params_;
  Options options_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<size_t, unsigned>> hooks_;  // (param, hook handle)
  std::mutex mutex_;
  bool armed_ = false;
  size_t next_launch_ = 0;
};

}  // namespace flowgrpo::dist
