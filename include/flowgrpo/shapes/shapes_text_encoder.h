#pragma once
/// @file shapes_text_encoder.h
/// A small CLIP-style text encoder for task vocabularies (the ShapesEval demo):
/// learned token and position embeddings, pre-LayerNorm transformer layers with
/// bidirectional attention, a final LayerNorm and a pooled projection read at the
/// <eos> token. It feeds the SD3 transformer exactly as SD3's real encoders do:
/// per-token states as `encoder_hidden_states` [B,L,D] and the projected <eos>
/// state as `pooled_projections` [B,P]. Parameter names follow transformers'
/// CLIPTextModelWithProjection (`embeddings.token_embedding.weight`,
/// `encoder.layers.0.self_attn.q_proj.weight`, ...).

#include "flowgrpo/sampling/velocity_model.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace flowgrpo::shapes {

struct ShapesTextEncoderConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 64;
  int64_t intermediate_size = 256;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 4;
  int64_t max_position_embeddings = 12;
  int64_t projection_dim = 64;

  /// @throws std::invalid_argument naming the key (unknown keys are rejected).
  static ShapesTextEncoderConfig from_json(const nlohmann::json& j, const std::string& source);
  static ShapesTextEncoderConfig from_file(const std::filesystem::path& path);
  nlohmann::json to_json() const;
  /// @throws std::invalid_argument for non-positive sizes or heads not dividing hidden_size.
  void validate() const;
};

class ShapesTextEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ShapesTextEncoderLayerImpl(const ShapesTextEncoderConfig& c);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ShapesTextEncoderLayer);

class ShapesTextEncoderImpl : public torch::nn::Module {
 public:
  explicit ShapesTextEncoderImpl(const ShapesTextEncoderConfig& config);

  struct Output {
    torch::Tensor hidden_states;  ///< [B,L,hidden_size], after the final LayerNorm
    torch::Tensor pooled;         ///< [B,projection_dim], projected state at <eos>
  };
  /// @param ids token ids [B,L] int64 (L ≤ max_position_embeddings)
  /// @param eos_positions [B] int64 index of <eos> in each row
  Output forward(const torch::Tensor& ids, const torch::Tensor& eos_positions);

  const ShapesTextEncoderConfig& config() const { return config_; }

  /// Writes config.json and model.safetensors into `dir`.
  void save(const std::filesystem::path& dir) const;
  /// Builds from DIR/config.json and loads DIR/model.safetensors strictly.
  static std::shared_ptr<ShapesTextEncoderImpl> load(const std::filesystem::path& dir);

 private:
  ShapesTextEncoderConfig config_;
  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};
  torch::nn::Linear text_projection{nullptr};
};
TORCH_MODULE(ShapesTextEncoder);

}  // namespace flowgrpo::shapes
