#include "flowgrpo/models/text_encoders/t5_stack.h"

#include <limits>
#include <string>

namespace flowgrpo::models {

namespace {

/// torch.finfo(dtype).min for the parameter dtypes T5 runs in.
double t5_dtype_lowest(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kHalf: return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    case torch::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    default: return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

}  // namespace

T5StackImpl::T5StackImpl(const T5Config& config, const torch::TensorOptions& options) {
  block = register_module("block", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) {
    // modeling_t5.py::T5Stack: has_relative_attention_bias=bool(i == 0).
    blocks_.push_back(T5Block(config, /*has_relative_attention_bias=*/i == 0, options));
    block->push_back(blocks_.back());
  }
  final_layer_norm = register_module(
      "final_layer_norm",
      T5LayerNorm(config.d_model, config.layer_norm_epsilon, config.initializer_factor, options));
}

torch::Tensor T5StackImpl::position_bias(int64_t length, const torch::Tensor& attention_mask,
                                         torch::ScalarType dtype) {
  auto bias = blocks_.front()->self_attention()->compute_bias(length, length);
  if (attention_mask.defined()) {
    // T5Stack.forward (encoder): mask[:, None, None, :] in the embeddings' dtype,
    // (1 - mask)·finfo.min, added to block 0's bias once and reused by all blocks.
    const auto mask = attention_mask.unsqueeze(1).unsqueeze(1).to(dtype);
    bias = bias + (1.0 - mask) * t5_dtype_lowest(dtype);
  }
  return bias;
}

T5EncoderOutput T5StackImpl::forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask,
                                     bool output_hidden_states) {
  T5EncoderOutput out;
  out.position_bias = position_bias(inputs_embeds.size(1), attention_mask, inputs_embeds.scalar_type());
  auto h = inputs_embeds;
  for (auto& b : blocks_) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    h = b->forward(h, out.position_bias);
  }
  out.last_hidden_state = final_layer_norm->forward(h);
  if (output_hidden_states) out.hidden_states.push_back(out.last_hidden_state);
  return out;
}

}  // namespace flowgrpo::models
