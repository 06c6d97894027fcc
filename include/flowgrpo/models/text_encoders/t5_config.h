#pragma once
/// @file t5_config.h
/// The configuration of transformers' `T5EncoderModel` (SD3 / SD3.5's
/// `text_encoder_3`, FLUX's `text_encoder_2`: T5-XXL v1.1), read from (and
/// written as) a transformers `config.json`.
///
/// Keys and defaults are those of transformers' `models/t5/configuration_t5.py::
/// T5Config.__init__`. The keys that shape the encoder are parsed and validated;
/// keys that only matter to the decoder, to generation or to bookkeeping
/// (`num_decoder_layers`, `dropout_rate`, token ids, `torch_dtype`,
/// `transformers_version`, `architectures`, ... — every generic
/// `PretrainedConfig` attribute) are accepted and ignored; any other key is an
/// error that lists the known ones.
///
/// The activation is derived from `feed_forward_proj` as configuration_t5.py
/// does: "ACT" or "gated-ACT" (`is_gated_act` = the "gated-" prefix), with
/// "gated-gelu" meaning `gelu_new` (the tanh approximation). A file's
/// `dense_act_fn` / `is_gated_act` entries (transformers writes both) must agree
/// with that derivation.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace flowgrpo::models {

/// Hyper-parameters of a T5 encoder. Default member values are transformers'
/// T5Config defaults (t5-small); t5_v1_1_xxl() is the SD3 / FLUX encoder.
struct T5Config {
  int64_t vocab_size = 32128;  ///< Rows of `shared` (the token embedding).
  int64_t d_model = 512;       ///< Width of the residual stream.
  int64_t d_kv = 64;           ///< Width of one attention head.
  int64_t d_ff = 2048;         ///< Width of the feed-forward layer.
  int64_t num_layers = 6;      ///< Encoder blocks.
  int64_t num_heads = 8;  ///< Attention heads; q/k/v project to num_heads·d_kv (may differ from d_model).
  /// Buckets of the relative position bias (half per direction, as the encoder is
  /// bidirectional); at least 4 so that each direction has an exact bucket.
  int64_t relative_attention_num_buckets = 32;
  /// Distances from this on share the last bucket of their direction; must exceed
  /// num_buckets / 4 (the exact range).
  int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;  ///< RMS-norm epsilon.
  /// "ACT" or "gated-ACT", ACT one of relu, gelu (exact erf), gelu_new (tanh),
  /// silu, swish; "gated-gelu" is gated gelu_new (T5 v1.1).
  std::string feed_forward_proj = "relu";
  double initializer_factor = 1.0;  ///< Scale of the initial weights (transformers' _init_weights).

  /// Whether the feed-forward layer is gated (`wi_0`, `wi_1`, `wo`) rather than
  /// plain (`wi`, `wo`): feed_forward_proj starts with "gated-".
  bool is_gated_act() const;
  /// The activation's transformers name (`ACT2FN` key): the part of
  /// feed_forward_proj after "gated-", except "gelu_new" for "gated-gelu".
  std::string dense_act_fn() const;
  /// num_heads·d_kv, the width q, k, v project to.
  int64_t inner_dim() const { return num_heads * d_kv; }

  /// Parameters of T5EncoderModel for this config, counting the tied token
  /// embedding once: shared + per block (q, k, v, o, two norms, the feed-forward
  /// weights) + block 0's relative_attention_bias + the final norm.
  /// 4,762,310,656 for t5_v1_1_xxl().
  int64_t num_parameters() const;

  /// Checks every value: positive sizes, at least 4 buckets, max distance above
  /// the exact range (buckets / 4), a finite epsilon > 0, a supported
  /// feed_forward_proj, a finite initializer_factor >= 0.
  /// @param source used in error messages (the file path when parsing).
  /// @throws std::invalid_argument naming source, the key, what is expected and what was found.
  void validate(const std::string& source = "T5Config") const;

  /// Parses a transformers config.json object. `model_type`, when present, must
  /// be "t5"; `dense_act_fn` / `is_gated_act`, when present, must agree with
  /// feed_forward_proj; `pruned_heads` must be empty.
  /// @param source used in error messages (usually the file path).
  /// @throws std::invalid_argument naming `source` and the key for an unknown key,
  ///         a value of the wrong JSON type, or a value validate() rejects.
  static T5Config from_json(const nlohmann::json& json, const std::string& source = "config");

  /// Reads and parses a config.json file (io::read_json_file).
  /// @throws std::invalid_argument naming the file if it cannot be read, is not
  ///         valid JSON, or from_json rejects it.
  static T5Config from_file(const std::filesystem::path& path);

  /// The config as transformers' `T5EncoderModel.save_pretrained` writes it
  /// (`architectures` ["T5EncoderModel"], `model_type` "t5", the derived
  /// `dense_act_fn` / `is_gated_act`, the decoder-side defaults), so that
  /// from_json(to_json()) round-trips and transformers reads it.
  nlohmann::json to_json() const;

  /// Writes to_json() to `path` (pretty-printed, atomically).
  /// @throws std::invalid_argument if validate() fails; std::runtime_error naming
  ///         the file if it cannot be written.
  void save(const std::filesystem::path& path) const;

  /// google/t5-v1_1-xxl, the encoder of SD3 / SD3.5 (`text_encoder_3`) and FLUX.1
  /// (`text_encoder_2`): d_model 4096, d_kv 64, 64 heads, d_ff 10240, 24 layers,
  /// vocab 32128, 32 buckets, max distance 128, eps 1e-6, gated-gelu.
  static T5Config t5_v1_1_xxl();

  bool operator==(const T5Config& other) const;
  bool operator!=(const T5Config& other) const { return !(*this == other); }
};

}  // namespace flowgrpo::models
