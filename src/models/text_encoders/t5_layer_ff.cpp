#include "flowgrpo/models/text_encoders/t5_layer_ff.h"

namespace flowgrpo::models {

T5LayerFFImpl::T5LayerFFImpl(const T5Config& config, const torch::TensorOptions& options) {
  DenseReluDense = register_module("DenseReluDense", T5DenseActDense(config, options));
  layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon,
                                                         config.initializer_factor, options));
}

torch::Tensor T5LayerFFImpl::forward(const torch::Tensor& x) {
  return x + DenseReluDense->forward(layer_norm->forward(x));
}

}  // namespace flowgrpo::models
