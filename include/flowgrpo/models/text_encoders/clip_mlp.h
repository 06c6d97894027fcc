#pragma once
/// @file clip_mlp.h
/// transformers `models/clip/modeling_clip.py::CLIPMLP`: fc2(act(fc1(x))), with
/// the activation named by the config's `hidden_act` (CLIPActivation).

#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include <torch/torch.h>

namespace flowgrpo::models {

/// The activation in the input's dtype (transformers `activations.py`):
/// quick_gelu x·sigmoid(1.702·x) (QuickGELUActivation), gelu the exact erf form
/// (F.gelu), gelu_new / gelu_pytorch_tanh the tanh approximation
/// (F.gelu(approximate="tanh"); NewGELUActivation spells the same formula out).
torch::Tensor clip_activation(const torch::Tensor& x, CLIPActivation activation);

/// Submodules `fc1`: Linear(d → ff), `fc2`: Linear(ff → d), both with bias.
class CLIPMLPImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPMLPImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);
  /// @param x [..., d] → [..., d].
  torch::Tensor forward(const torch::Tensor& x);

  CLIPLinear fc1{nullptr};
  CLIPLinear fc2{nullptr};

 private:
  CLIPActivation activation_;
};
TORCH_MODULE(CLIPMLP);

}  // namespace flowgrpo::models
