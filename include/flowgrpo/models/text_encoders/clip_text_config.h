#pragma once
/// @file clip_text_config.h
/// The configuration of transformers' `CLIPTextModelWithProjection` (SD3's
/// `text_encoder/` = CLIP-L and `text_encoder_2/` = OpenCLIP bigG), read from and
/// written as a transformers `config.json`.
///
/// Keys and defaults are those of transformers
/// `models/clip/configuration_clip.py::CLIPTextConfig.__init__`: a key absent from
/// the file takes that default (as transformers does); the keys every
/// `PretrainedConfig` writes (generation settings, labels, `torch_dtype`, ...)
/// are accepted and ignored because the text model never reads them; any other
/// key is an error, so that no setting is silently dropped. A full `CLIPModel`
/// config (the text config nested under `text_config`, vision tower beside it) is
/// rejected: its weights are not a CLIPTextModelWithProjection checkpoint either.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace flowgrpo::models {

/// The activation of CLIP's MLP, from `hidden_act` (transformers `activations.py`).
enum class CLIPActivation {
  kQuickGelu,  ///< "quick_gelu": x·sigmoid(1.702·x) (CLIP-L)
  kGelu,       ///< "gelu": exact erf GELU (CLIP-G)
  kGeluTanh,   ///< "gelu_new" / "gelu_pytorch_tanh": the tanh approximation
};

/// "quick_gelu", "gelu" or "gelu_pytorch_tanh".
std::string to_string(CLIPActivation activation);
/// Parses a transformers `hidden_act` name: "quick_gelu", "gelu", "gelu_new",
/// "gelu_pytorch_tanh".
/// @throws std::invalid_argument naming the value and listing the valid ones.
CLIPActivation parse_clip_activation(const std::string& name);

/// Hyper-parameters of a CLIP text encoder with projection. Default member values
/// are transformers' `CLIPTextConfig` defaults.
struct CLIPTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;         ///< d, the width of every layer.
  int64_t intermediate_size = 2048;  ///< The MLP's inner width (fc1: d → ff).
  int64_t projection_dim = 512;      ///< text_projection: d → projection_dim, no bias.
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;        ///< Must divide hidden_size.
  int64_t max_position_embeddings = 77;   ///< Rows of the position table; the longest input.
  std::string hidden_act = "quick_gelu";  ///< See parse_clip_activation.
  double layer_norm_eps = 1e-5;
  /// Dropout on the attention probabilities, applied only in training mode.
  double attention_dropout = 0.0;
  /// `dropout` of transformers < 4.4x configs; the text model never used it.
  /// Kept so that a config round-trips.
  double dropout = 0.0;
  double initializer_range = 0.02;  ///< Used by transformers for no text-model weight; kept for round-trips.
  double initializer_factor = 1.0;  ///< Scales the initial weights (see CLIPTextModelWithProjectionImpl).
  std::optional<int64_t> pad_token_id = 1;
  std::optional<int64_t> bos_token_id = 49406;
  /// Selects the pooling rule (transformers ≥ 4.31, PR #24773): 2 (the value of
  /// every config written before that PR, SD3's included) pools at
  /// argmax(input_ids), i.e. the first occurrence of the largest id (49407 for
  /// tokenizer output); any other value pools at the first position where
  /// input_ids == eos_token_id (position 0 if there is none).
  int64_t eos_token_id = 49407;

  /// Whether pooling uses the legacy argmax(input_ids) rule (eos_token_id == 2).
  bool legacy_pooling() const { return eos_token_id == 2; }
  /// hidden_size / num_attention_heads.
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  /// parse_clip_activation(hidden_act). @throws as that.
  CLIPActivation activation() const;

  /// Parameters of a CLIPTextModelWithProjection with this config:
  /// V·d + P·d + L·(4·(d² + d) + 4·d + 2·d·ff + ff + d) + 2·d + proj·d.
  int64_t num_parameters() const;

  /// Checks every value: positive sizes, hidden_size divisible by the heads,
  /// finite layer_norm_eps > 0, dropouts in [0, 1), initializer values ≥ 0, a
  /// known hidden_act, eos_token_id in [0, vocab_size), token ids ≥ 0.
  /// @param source used in error messages (the file path when parsing).
  /// @throws std::invalid_argument naming source, the key, what is expected and what was found.
  void validate(const std::string& source = "CLIPTextConfig") const;

  /// Parses a config.json object (see the file comment for the key policy).
  /// `model_type`, when present, must be "clip_text_model"; `architectures`,
  /// when present, must contain "CLIPTextModelWithProjection"; `pruned_heads`
  /// must be empty.
  /// @param source used in error messages (usually the file path).
  /// @throws std::invalid_argument naming `source` and the key for an unknown key,
  ///         a value of the wrong JSON type, a nested `text_config`, or a value
  ///         validate() rejects.
  static CLIPTextConfig from_json(const nlohmann::json& json, const std::string& source = "config");

  /// Reads and parses a config.json file (io::read_json_file).
  /// @throws std::invalid_argument naming the file if it cannot be read, is not
  ///         valid JSON, or from_json rejects it.
  static CLIPTextConfig from_file(const std::filesystem::path& path);

  /// The config as transformers writes it (`architectures`, `model_type`, every
  /// CLIPTextConfig key), so that from_json(to_json()) round-trips and
  /// transformers' `CLIPTextModelWithProjection.from_pretrained` reads it.
  nlohmann::json to_json() const;

  /// Writes to_json() to `path` (pretty-printed, atomically), plus `torch_dtype`
  /// when given (e.g. "float32", "bfloat16"), as transformers records it.
  /// @throws std::invalid_argument if validate() fails; std::runtime_error naming
  ///         the file if it cannot be written.
  void save(const std::filesystem::path& path, const std::string& torch_dtype = "") const;

  /// SD3 / SD3.5 `text_encoder/config.json` (OpenAI CLIP ViT-L/14's text tower):
  /// d 768, 12 layers, 12 heads, ff 3072, projection 768, quick_gelu, vocab
  /// 49408, 77 positions, eps 1e-5, token ids bos 0 / pad 1 / eos 2 (legacy pooling).
  static CLIPTextConfig clip_l();
  /// SD3 / SD3.5 `text_encoder_2/config.json` (OpenCLIP ViT-bigG/14's text tower):
  /// d 1280, 32 layers, 20 heads, ff 5120, projection 1280, gelu (exact), vocab
  /// 49408, 77 positions, eps 1e-5, token ids bos 0 / pad 1 / eos 2 (legacy pooling).
  static CLIPTextConfig clip_g();

  bool operator==(const CLIPTextConfig& other) const;
  bool operator!=(const CLIPTextConfig& other) const { return !(*this == other); }
};

}  // namespace flowgrpo::models
