#include "flowgrpo/dist/gradient_reducer.h"

#include <stdexcept>
#include <string>

namespace flowgrpo::dist {

GradientReducer::GradientReducer(Communicator& comm, std::vector<torch::Tensor> params, Options options)
    : comm_(comm), params_(std::move(params)), options_(options) {
  if (options_.bucket_bytes < 1)
    throw std::invalid_argument("GradientReducer: bucket_bytes = " + std::to_string(options_.bucket_bytes) +
                                " (expected >= 1)");
  // Reverse parameter order; a new bucket when the dtype changes or the cap is reached.
  Bucket current;
  int64_t elements = 0;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  auto close = [&] {
    if (current.slots.empty()) return;
    current.flat = torch::zeros({elements}, params_[current.slots.front().param].options());
    current.pending = current.slots.size();
    buckets_.push_back(std::move(current));
    current = Bucket();
    elements = 0;
  };
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    if (p.scalar_type() != dtype) close(), dtype = p.scalar_type();
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (!current.slots.empty() &&
        (elements * static_cast<int64_t>(p.element_size()) + bytes > options_.bucket_bytes))
      close();
    current.slots.push_back({k, elements, false});
    elements += p.numel();
  }
  close();
  if (options_.overlap && comm_.world_size() > 1)
    for (size_t b = 0; b < buckets_.size(); ++b)
      for (size_t s = 0; s < buckets_[b].slots.size(); ++s) {
        auto& p = params_[buckets_[b].slots[s].param];
        const unsigned handle =
            p.register_hook([this, b, s](const torch::Tensor& grad) { on_gradient(b, s, grad); });
        hooks_.emplace_back(buckets_[b].slots[s].param, handle);
      }
}

GradientReducer::~GradientReducer() {
  for (auto& [param, handle] : hooks_) params_[param].remove_hook(handle);
}

std::vector<int64_t> GradientReducer::bucket_sizes() const {
  std::vector<int64_t> out;
  for (const auto& b : buckets_) out.push_back(b.flat.numel());
  return out;
}

void GradientReducer::arm() {
  if (!options_.overlap || comm_.world_size() == 1) return;
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
}

void GradientReducer::on_gradient(size_t bucket, size_t slot, const torch::Tensor& incoming) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  auto& b = buckets_[bucket];
  auto& s = b.slots[slot];
  if (s.ready || b.work) return;
  // The hook sees the gradient before autograd adds it to .grad: the final value is
  // their sum (.grad holds the earlier micro-batches of the accumulation).
  const auto& p = params_[s.param];
  auto dst = b.flat.narrow(0, s.offset, p.numel());
  torch::NoGradGuard no_grad;
  if (p.grad().defined())
    torch::add_out(dst, p.grad().reshape({-1}), incoming.reshape({-1}));
  else
    dst.copy_(incoming.reshape({-1}));
  s.ready = true;
  --b.pending;
  launch_ready();
}

void GradientReducer::fill(Bucket& b, Slot& s) {
  const auto& p = params_[s.param];
  auto dst = b.flat.narrow(0, s.offset, p.numel());
  if (p.grad().defined())
    dst.copy_(p.grad().reshape({-1}));
  else
    dst.zero_();
  s.ready = true;
  --b.pending;
}

void GradientReducer::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) launch(next_launch_++);
}

void GradientReducer::launch(size_t bucket) {
  auto& b = buckets_[bucket];
  b.work = comm_.all_reduce_sum_async(b.flat, "gradients (bucket " + std::to_string(bucket + 1) + " of " +
                                                  std::to_string(buckets_.size()) + ")");
}

void GradientReducer::reduce() {
  if (comm_.world_size() == 1) return;
  torch::NoGradGuard no_grad;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    // Buckets the hooks did not complete, in order after those already started.
    for (size_t k = next_launch_; k < buckets_.size(); ++k) {
      auto& b = buckets_[k];
      for (auto& s : b.slots)
        if (!s.ready) fill(b, s);
    }
    launch_ready();
  }
  for (auto& b : buckets_) {
    b.work->wait();
    b.work.reset();
    for (auto& s : b.slots) {
      auto& p = params_[s.param];
      const auto value = b.flat.narrow(0, s.offset, p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(value);
      else
        p.mutable_grad() = value.clone();
      s.ready = false;
    }
    b.pending = b.slots.size();
  }
  next_launch_ = 0;
}

}  // namespace flowgrpo::dist
