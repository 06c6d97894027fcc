#pragma once
/// @file t5_linear.h
/// The bias-free linear layer of T5 (transformers' `nn.Linear(..., bias=False)`
/// for q, k, v, o, wi, wi_0, wi_1, wo), with its weight created in place.
///
/// LibTorch's torch::nn::Linear allocates and initialises its weight on the CPU
/// in its constructor; this layer creates `weight` directly with the requested
/// dtype and device, so that a T5-XXL can be built on the meta device (shapes
/// only, nothing allocated) or straight on a GPU.

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class T5LinearImpl : public torch::nn::Module {
 public:
  /// `weight` [out_features, in_features] with `options` (dtype, device),
  /// initialised N(0, init_std²) unless on the meta device.
  T5LinearImpl(int64_t in_features, int64_t out_features, double init_std,
               const torch::TensorOptions& options);

  /// x·weightᵀ (torch::linear without bias), in the dtype of x and weight
  /// (callers convert; see T5DenseActDenseImpl for the one place that does).
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;
};
TORCH_MODULE(T5Linear);

}  // namespace flowgrpo::models
