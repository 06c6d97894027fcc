#pragma once
/// @file t5_embedding.h
/// A lookup table created in place: T5's token embedding (`shared`) and its
/// relative position bias table (`relative_attention_bias`), transformers'
/// `nn.Embedding` without padding index.
///
/// LibTorch's torch::nn::Embedding allocates its table on the CPU in its
/// constructor (526 MB in float32 for T5-XXL's vocabulary); this one creates
/// `weight` directly with the requested dtype and device (meta included).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class T5EmbeddingImpl : public torch::nn::Module {
 public:
  /// `weight` [num_embeddings, embedding_dim] with `options` (dtype, device),
  /// initialised N(0, init_std²) unless on the meta device.
  T5EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, double init_std,
                  const torch::TensorOptions& options);

  /// Rows of `weight` at `indices` (any shape, int64 on weight's device, values
  /// in [0, num_embeddings); the caller validates): indices.shape + [embedding_dim].
  torch::Tensor forward(const torch::Tensor& indices);

  torch::Tensor weight;
};
TORCH_MODULE(T5Embedding);

}  // namespace flowgrpo::models
