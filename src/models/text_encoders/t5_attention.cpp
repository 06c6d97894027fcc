#include "flowgrpo/models/text_encoders/t5_attention.h"

#include "flowgrpo/models/text_encoders/t5_relative_position.h"

#include <cmath>
#include <stdexcept>

namespace flowgrpo::models {

T5AttentionImpl::T5AttentionImpl(const T5Config& config, bool has_relative_attention_bias,
                                 const torch::TensorOptions& options)
    : num_heads_(config.num_heads),
      d_kv_(config.d_kv),
      num_buckets_(config.relative_attention_num_buckets),
      max_distance_(config.relative_attention_max_distance) {
  // modeling_t5.py::T5PreTrainedModel._init_weights (T5Attention): Mesh
  // TensorFlow's initialisation, which absorbs the missing 1/sqrt(d_kv) into q.
  const double f = config.initializer_factor;
  const auto d_model = static_cast<double>(config.d_model);
  const int64_t inner = config.inner_dim();
  q = register_module("q", T5Linear(config.d_model, inner, f / std::sqrt(d_model * d_kv_), options));
  k = register_module("k", T5Linear(config.d_model, inner, f / std::sqrt(d_model), options));
  v = register_module("v", T5Linear(config.d_model, inner, f / std::sqrt(d_model), options));
  o = register_module("o",
                      T5Linear(inner, config.d_model, f / std::sqrt(static_cast<double>(inner)), options));
  if (has_relative_attention_bias) {
    relative_attention_bias = register_module(
        "relative_attention_bias", T5Embedding(num_buckets_, num_heads_, f / std::sqrt(d_model), options));
  }
}

torch::Tensor T5AttentionImpl::compute_bias(int64_t query_length, int64_t key_length) {
  if (!has_relative_attention_bias())
    throw std::logic_error(
        "T5Attention::compute_bias: this layer has no relative_attention_bias (only block 0 has)");
  const auto buckets =
      t5_relative_position_buckets(query_length, key_length, /*bidirectional=*/true, num_buckets_,
                                   max_distance_, relative_attention_bias->weight.device());
  // [q, k, H] -> [1, H, q, k]
  return relative_attention_bias->forward(buckets).permute({2, 0, 1}).unsqueeze(0);
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& hidden_states,
                                       const torch::Tensor& position_bias) {
  // modeling_t5.py::T5Attention.forward for self-attention without cache.
  const int64_t batch = hidden_states.size(0);
  const auto heads = [&](const torch::Tensor& t) {
    return t.view({batch, -1, num_heads_, d_kv_}).transpose(1, 2);
  };
  const auto query = heads(q->forward(hidden_states));
  const auto key = heads(k->forward(hidden_states));
  const auto value = heads(v->forward(hidden_states));
  // No 1/sqrt(d_kv): T5 folds the scale into q's initialisation.
  auto scores = torch::matmul(query, key.transpose(3, 2));
  scores += position_bias;
  const auto weights = torch::softmax(scores.to(torch::kFloat), -1).to(scores.scalar_type());
  auto out = torch::matmul(weights, value).transpose(1, 2).contiguous();
  out = out.view({batch, -1, num_heads_ * d_kv_});
  return o->forward(out);
}

}  // namespace flowgrpo::models
