#include "flowgrpo/models/text_encoders/clip_mlp.h"

#include <stdexcept>

namespace flowgrpo::models {

torch::Tensor clip_activation(const torch::Tensor& x, CLIPActivation activation) {
  switch (activation) {
    case CLIPActivation::kQuickGelu: return x * torch::sigmoid(1.702 * x);
    case CLIPActivation::kGelu: return torch::gelu(x);
    case CLIPActivation::kGeluTanh: return torch::gelu(x, "tanh");
  }
  throw std::logic_error("unknown CLIPActivation");
}

CLIPMLPImpl::CLIPMLPImpl(const CLIPTextConfig& config, const torch::TensorOptions& options)
    : activation_(config.activation()) {
  config.validate();
  fc1 = register_module("fc1",
                        CLIPLinear(config.hidden_size, config.intermediate_size, /*bias=*/true, options));
  fc2 = register_module("fc2",
                        CLIPLinear(config.intermediate_size, config.hidden_size, /*bias=*/true, options));
}

torch::Tensor CLIPMLPImpl::forward(const torch::Tensor& x) {
  return fc2->forward(clip_activation(fc1->forward(x), activation_));
}

}  // namespace flowgrpo::models
