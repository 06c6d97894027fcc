#pragma once
/// @file t5_layer_ff.h
/// The second sub-layer of a T5 block (transformers `T5LayerFF`, `layer.1`):
/// pre-norm feed-forward with a residual, x + DenseReluDense(layer_norm(x)).

#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_feed_forward.h"
#include "flowgrpo/models/text_encoders/t5_layer_norm.h"

#include <torch/torch.h>

namespace flowgrpo::models {

class T5LayerFFImpl : public torch::nn::Module {
 public:
  T5LayerFFImpl(const T5Config& config, const torch::TensorOptions& options);

  /// x [B, S, d_model] -> x + feed-forward, in the promoted dtype of the two
  /// (float32 when wo is kept in float32 for a float16 model).
  torch::Tensor forward(const torch::Tensor& x);

  T5DenseActDense DenseReluDense{nullptr};  // NOLINT(readability-identifier-naming): transformers' name
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5LayerFF);

}  // namespace flowgrpo::models
