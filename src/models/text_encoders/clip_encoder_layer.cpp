#include "flowgrpo/models/text_encoders/clip_encoder_layer.h"

namespace flowgrpo::models {

CLIPEncoderLayerImpl::CLIPEncoderLayerImpl(const CLIPTextConfig& config,
                                           const torch::TensorOptions& options) {
  self_attn = register_module("self_attn", CLIPAttention(config, options));
  layer_norm1 =
      register_module("layer_norm1", CLIPLayerNorm(config.hidden_size, config.layer_norm_eps, options));
  mlp = register_module("mlp", CLIPMLP(config, options));
  layer_norm2 =
      register_module("layer_norm2", CLIPLayerNorm(config.hidden_size, config.layer_norm_eps, options));
}

torch::Tensor CLIPEncoderLayerImpl::forward(const torch::Tensor& x) {
  // modeling_clip.py::CLIPEncoderLayer.forward.
  auto h = x + self_attn->forward(layer_norm1->forward(x));
  return h + mlp->forward(layer_norm2->forward(h));
}

}  // namespace flowgrpo::models
