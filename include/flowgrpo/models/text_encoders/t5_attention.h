#pragma once
/// @file t5_attention.h
/// T5's multi-head self-attention (transformers `modeling_t5.py::T5Attention`,
/// encoder use, no cache):
///
///     q, k, v = x·Wqᵀ, x·Wkᵀ, x·Wvᵀ        [B, S, H·d_kv] -> [B, H, S, d_kv]
///     scores  = q·kᵀ + position_bias        NO 1/sqrt(d_kv) scaling (Mesh TF folds it into the init)
///     weights = softmax(float32(scores)) cast back to the scores' dtype
///     out     = (weights·v merged over heads)·Woᵀ
///
/// Only the first block's attention owns `relative_attention_bias` [num_buckets,
/// H]; its compute_bias() is computed once per forward and reused by every block.

#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_embedding.h"
#include "flowgrpo/models/text_encoders/t5_linear.h"

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class T5AttentionImpl : public torch::nn::Module {
 public:
  /// q, k, v [H·d_kv, d_model], o [d_model, H·d_kv] and, with
  /// `has_relative_attention_bias`, relative_attention_bias [num_buckets, H], all
  /// with `options`; initialised as transformers' T5PreTrainedModel._init_weights
  /// (scaled by config.initializer_factor) unless on the meta device.
  T5AttentionImpl(const T5Config& config, bool has_relative_attention_bias,
                  const torch::TensorOptions& options);

  /// @param hidden_states [B, S, d_model] (already normed by the caller).
  /// @param position_bias [1 or B, H, S, S] added to the scores: compute_bias()
  ///        plus the additive padding mask, in the scores' dtype.
  /// @return [B, S, d_model].
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& position_bias);

  /// transformers `compute_bias` (bidirectional): relative_attention_bias at
  /// t5_relative_position_buckets(query_length, key_length), permuted to
  /// [1, H, query_length, key_length], in the table's dtype and on its device.
  /// @throws std::logic_error if this attention has no relative_attention_bias.
  torch::Tensor compute_bias(int64_t query_length, int64_t key_length);

  bool has_relative_attention_bias() const { return !relative_attention_bias.is_empty(); }

  T5Linear q{nullptr};
  T5Linear k{nullptr};
  T5Linear v{nullptr};
  T5Linear o{nullptr};
  T5Embedding relative_attention_bias{nullptr};  ///< Null except in block 0.

 private:
  int64_t num_heads_;
  int64_t d_kv_;
  int64_t num_buckets_;
  int64_t max_distance_;
};
TORCH_MODULE(T5Attention);

}  // namespace flowgrpo::models
