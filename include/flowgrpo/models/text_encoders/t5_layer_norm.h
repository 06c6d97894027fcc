#pragma once
/// @file t5_layer_norm.h
/// T5's RMS norm (transformers `modeling_t5.py::T5LayerNorm`): no mean
/// subtraction, no bias,
///
///     y = weight · cast(x · rsqrt(mean(float32(x)²) + eps))
///
/// where the cast to the weight's dtype happens only for a float16 / bfloat16
/// weight (the statistic is always accumulated in float32, and with a float32
/// weight the result stays float32 whatever x's dtype).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class T5LayerNormImpl : public torch::nn::Module {
 public:
  /// `weight` [hidden_size] with `options`, filled with `init_value` (transformers
  /// initialises it to initializer_factor) unless on the meta device.
  T5LayerNormImpl(int64_t hidden_size, double eps, double init_value, const torch::TensorOptions& options);

  /// x [..., hidden_size] -> same shape; dtype as described in the file comment.
  torch::Tensor forward(const torch::Tensor& x);

  double eps() const { return eps_; }

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(T5LayerNorm);

}  // namespace flowgrpo::models
