#include "flowgrpo/models/text_encoders/clip_encoder.h"

namespace flowgrpo::models {

CLIPEncoderImpl::CLIPEncoderImpl(const CLIPTextConfig& config, const torch::TensorOptions& options) {
  config.validate();
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(CLIPEncoderLayer(config, options));
}

torch::Tensor CLIPEncoderImpl::forward(const torch::Tensor& x, std::vector<torch::Tensor>* hidden_states,
                                       torch::Tensor* penultimate) {
  const int64_t n = static_cast<int64_t>(layers->size());
  if (hidden_states != nullptr) {
    hidden_states->clear();
    hidden_states->push_back(x);
  }
  if (penultimate != nullptr && n == 1) *penultimate = x;
  auto h = x;
  for (int64_t i = 0; i < n; ++i) {
    h = layers[i]->as<CLIPEncoderLayer>()->forward(h);
    if (hidden_states != nullptr) hidden_states->push_back(h);
    if (penultimate != nullptr && i == n - 2) *penultimate = h;
  }
  return h;
}

}  // namespace flowgrpo::models
