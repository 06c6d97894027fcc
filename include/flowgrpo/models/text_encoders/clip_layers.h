#pragma once
/// @file clip_layers.h
/// The parameter-holding primitives of the CLIP text model (Linear, LayerNorm,
/// Embedding), with torch.nn's parameter names (`weight`, `bias`) and numerics,
/// whose parameters are created directly with the given dtype and device and left
/// uninitialised. Unlike torch::nn::Linear & co., which allocate and initialise
/// float32 CPU parameters before any `to()`, they allocate nothing on the `meta`
/// device (real-size models can be built to count parameters) and make
/// from_pretrained allocate each weight once, in its final dtype and place.
/// CLIPTextModelWithProjectionImpl initialises them (or the loader overwrites them).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

/// torch.nn.Linear(in, out, bias): y = x·weightᵀ + bias. `weight` [out, in],
/// `bias` [out] (undefined without bias).
class CLIPLinearImpl : public torch::nn::Module {
 public:
  CLIPLinearImpl(int64_t in_features, int64_t out_features, bool bias, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x) const;
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(CLIPLinear);

/// torch.nn.LayerNorm(dim, eps) with affine weight and bias over the last dimension.
class CLIPLayerNormImpl : public torch::nn::Module {
 public:
  CLIPLayerNormImpl(int64_t dim, double eps, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& x) const;
  torch::Tensor weight;
  torch::Tensor bias;

 private:
  int64_t dim_;
  double eps_;
};
TORCH_MODULE(CLIPLayerNorm);

/// torch.nn.Embedding(num, dim): rows of `weight` [num, dim] by index.
class CLIPEmbeddingImpl : public torch::nn::Module {
 public:
  CLIPEmbeddingImpl(int64_t num_embeddings, int64_t dim, const torch::TensorOptions& options);
  /// @param ids int64 indices in [0, num_embeddings) (not checked here).
  torch::Tensor forward(const torch::Tensor& ids) const;
  torch::Tensor weight;
};
TORCH_MODULE(CLIPEmbedding);

}  // namespace flowgrpo::models
