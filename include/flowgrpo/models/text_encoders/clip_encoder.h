#pragma once
/// @file clip_encoder.h
/// transformers `models/clip/modeling_clip.py::CLIPEncoder`: the stack of
/// CLIPEncoderLayers, recording the hidden states as transformers numbers them.

#include "flowgrpo/models/text_encoders/clip_encoder_layer.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include <torch/torch.h>

#include <vector>

namespace flowgrpo::models {

/// Submodule `layers` (ModuleList, names `layers.0`, `layers.1`, ...).
class CLIPEncoderImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPEncoderImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);

  /// Runs every layer on `x` [B, S, d].
  /// @param hidden_states if given, receives transformers' `hidden_states`:
  ///        N + 1 tensors, [0] = x (the embeddings), [k] = output of layer k − 1.
  /// @param penultimate if given, receives hidden_states[N − 1] (SD3's
  ///        `hidden_states[-2]`: the output of layer N − 2; x itself when N = 1).
  /// @return the output of the last layer (before any final LayerNorm).
  torch::Tensor forward(const torch::Tensor& x, std::vector<torch::Tensor>* hidden_states = nullptr,
                        torch::Tensor* penultimate = nullptr);

  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(CLIPEncoder);

}  // namespace flowgrpo::models
