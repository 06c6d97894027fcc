#include "flowgrpo/models/text_encoders/t5_config.h"

#include "flowgrpo/io/text_file.h"
#include "models/config_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

namespace flowgrpo::models {

namespace {

using nlohmann::json;

constexpr const char* kT5ModelType = "t5";
constexpr const char* kT5SupportedActivations = "relu, gelu, gelu_new, silu, swish";

const char* const kT5ConfigKnownKeys =
    "vocab_size, d_model (hidden_size), d_kv (head_dim), d_ff, num_layers (num_hidden_layers), num_heads "
    "(num_attention_heads), relative_attention_num_buckets, relative_attention_max_distance, "
    "layer_norm_epsilon, feed_forward_proj, dense_act_fn, is_gated_act, initializer_factor, model_type, "
    "pruned_heads, and the decoder / generation / bookkeeping keys of transformers' T5Config and "
    "PretrainedConfig";

// Keys of T5Config (configuration_t5.py), and of PretrainedConfig beyond
// detail::pretrained_config_generic_keys(), that do not change T5EncoderModel's
// forward: decoder and generation settings, dropout (flowgrpo runs the frozen
// encoder without dropout), token ids, bookkeeping. (`is_decoder`, among the
// generic keys, is ignored too because T5EncoderModel.__init__ forces it to False.)
const std::set<std::string>& t5_config_ignored_keys() {
  static const std::set<std::string> keys{
      "_attn_implementation_internal",
      "architectures",
      "bos_token_id",
      "classifier_dropout",
      "dropout_rate",
      "eos_token_id",
      "n_positions",
      "num_decoder_layers",
      "num_labels",
      "output_past",
      "pad_token_id",
      "use_cache",
  };
  return keys;
}

// T5Config.attribute_map: the generic names transformers maps onto T5's own.
const std::map<std::string, std::string>& t5_config_aliases() {
  static const std::map<std::string, std::string> aliases{{"hidden_size", "d_model"},
                                                          {"num_attention_heads", "num_heads"},
                                                          {"num_hidden_layers", "num_layers"},
                                                          {"head_dim", "d_kv"}};
  return aliases;
}

/// configuration_t5.py: act_info = feed_forward_proj.split("-"); valid forms
/// are "ACT" and "gated-ACT". Returns {is_gated, activation} or throws.
std::pair<bool, std::string> t5_parse_feed_forward_proj(const std::string& proj, const std::string& source) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dash = proj.find('-', start);
    parts.push_back(proj.substr(start, dash == std::string::npos ? std::string::npos : dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  const bool gated = parts.front() == "gated";
  const std::string act = parts.back();
  const bool bad_form = (parts.size() > 1 && !gated) || parts.size() > 2;
  static const std::set<std::string> supported{"relu", "gelu", "gelu_new", "silu", "swish"};
  if (bad_form || !supported.count(act)) {
    detail::config_key_error(source, "feed_forward_proj",
                             std::string("expected \"ACT\" or \"gated-ACT\" with ACT one of ") +
                                 kT5SupportedActivations + " (e.g. \"gated-gelu\", \"relu\"), found \"" +
                                 proj + "\"");
  }
  // configuration_t5.py: "gated-gelu" is kept for backwards compatibility and means gelu_new.
  return {gated, proj == "gated-gelu" ? std::string("gelu_new") : act};
}

}  // namespace

bool T5Config::is_gated_act() const {
  return t5_parse_feed_forward_proj(feed_forward_proj, "T5Config").first;
}

std::string T5Config::dense_act_fn() const {
  return t5_parse_feed_forward_proj(feed_forward_proj, "T5Config").second;
}

int64_t T5Config::num_parameters() const {
  const int64_t inner = inner_dim();
  const int64_t attention = 4 * d_model * inner;  // q, k, v [inner, d_model]; o [d_model, inner]
  const int64_t feed_forward = (is_gated_act() ? 3 : 2) * d_model * d_ff;
  const int64_t norms = 2 * d_model;
  return vocab_size * d_model + num_layers * (attention + feed_forward + norms) +
         relative_attention_num_buckets * num_heads + d_model;
}

void T5Config::validate(const std::string& source) const {
  detail::config_require_positive(vocab_size, "vocab_size", source);
  detail::config_require_positive(d_model, "d_model", source);
  detail::config_require_positive(d_kv, "d_kv", source);
  detail::config_require_positive(d_ff, "d_ff", source);
  detail::config_require_positive(num_layers, "num_layers", source);
  detail::config_require_positive(num_heads, "num_heads", source);
  // The encoder is bidirectional: num_buckets / 2 per direction, of which the
  // first half (num_buckets / 4) are exact distances; transformers divides by
  // that (log(max_distance / max_exact)), so it must be >= 1 ...
  if (relative_attention_num_buckets < 4) {
    detail::config_key_error(source, "relative_attention_num_buckets",
                             "expected >= 4 (num_buckets / 4 exact buckets per direction), found " +
                                 std::to_string(relative_attention_num_buckets));
  }
  // ... and log(max_distance / max_exact) must be > 0, or the logarithmic
  // buckets are NaN / negative indices.
  const int64_t max_exact = relative_attention_num_buckets / 4;
  if (relative_attention_max_distance <= max_exact) {
    detail::config_key_error(source, "relative_attention_max_distance",
                             "expected > relative_attention_num_buckets / 4 = " + std::to_string(max_exact) +
                                 ", found " + std::to_string(relative_attention_max_distance));
  }
  if (!std::isfinite(layer_norm_epsilon) || layer_norm_epsilon <= 0.0) {
    detail::config_key_error(
        source, "layer_norm_epsilon",
        "expected a finite number > 0, found " + detail::config_json_text(json(layer_norm_epsilon)));
  }
  if (!std::isfinite(initializer_factor) || initializer_factor < 0.0) {
    detail::config_key_error(
        source, "initializer_factor",
        "expected a finite number >= 0, found " + detail::config_json_text(json(initializer_factor)));
  }
  t5_parse_feed_forward_proj(feed_forward_proj, source);
}

T5Config T5Config::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    throw std::invalid_argument(source + ": expected a JSON object, found " + j.type_name());
  T5Config c;
  std::optional<std::string> dense_act_fn;
  std::optional<bool> is_gated_act;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& file_key = it.key();
    const json& v = it.value();
    if (detail::pretrained_config_generic_keys().count(file_key) || t5_config_ignored_keys().count(file_key))
      continue;
    const auto alias = t5_config_aliases().find(file_key);
    const std::string key = alias == t5_config_aliases().end() ? file_key : alias->second;
    if (alias != t5_config_aliases().end() && j.contains(key) && j.at(key) != v) {
      detail::config_key_error(source, file_key,
                               "is transformers' alias of \"" + key +
                                   "\" but differs from it: " + detail::config_json_text(v) + " vs " +
                                   detail::config_json_text(j.at(key)));
    }
    if (key == "vocab_size") {
      c.vocab_size = detail::config_int(v, file_key, source);
    } else if (key == "d_model") {
      c.d_model = detail::config_int(v, file_key, source);
    } else if (key == "d_kv") {
      c.d_kv = detail::config_int(v, file_key, source);
    } else if (key == "d_ff") {
      c.d_ff = detail::config_int(v, file_key, source);
    } else if (key == "num_layers") {
      c.num_layers = detail::config_int(v, file_key, source);
    } else if (key == "num_heads") {
      c.num_heads = detail::config_int(v, file_key, source);
    } else if (key == "relative_attention_num_buckets") {
      c.relative_attention_num_buckets = detail::config_int(v, file_key, source);
    } else if (key == "relative_attention_max_distance") {
      c.relative_attention_max_distance = detail::config_int(v, file_key, source);
    } else if (key == "layer_norm_epsilon") {
      c.layer_norm_epsilon = detail::config_number(v, file_key, source);
    } else if (key == "initializer_factor") {
      c.initializer_factor = detail::config_number(v, file_key, source);
    } else if (key == "feed_forward_proj") {
      c.feed_forward_proj = detail::config_string(v, file_key, source);
    } else if (key == "dense_act_fn") {
      dense_act_fn = detail::config_string(v, file_key, source);
    } else if (key == "is_gated_act") {
      is_gated_act = detail::config_bool(v, file_key, source);
    } else if (key == "model_type") {
      if (v != json(kT5ModelType)) {
        detail::config_key_error(source, file_key,
                                 std::string("expected \"") + kT5ModelType + "\", found " +
                                     detail::config_json_text(v) + " (not a T5 encoder config?)");
      }
    } else if (key == "pruned_heads") {
      // Pruned heads change the shapes of q/k/v/o; flowgrpo builds full heads only.
      if (!v.is_null() && !v.empty())
        detail::config_key_error(
            source, file_key,
            "expected {} (pruned heads are not supported), found " + detail::config_json_text(v));
    } else {
      throw std::invalid_argument(source + ": unknown config key \"" + file_key +
                                  "\" for T5EncoderModel (known keys: " + kT5ConfigKnownKeys + ")");
    }
  }
  c.validate(source);
  // transformers writes both derived values; a file whose values contradict
  // feed_forward_proj would be read differently by transformers (its kwargs
  // override the derivation), so it is refused rather than guessed at.
  if (dense_act_fn && *dense_act_fn != c.dense_act_fn()) {
    detail::config_key_error(source, "dense_act_fn",
                             "expected \"" + c.dense_act_fn() + "\" (derived from feed_forward_proj \"" +
                                 c.feed_forward_proj + "\"), found " +
                                 detail::config_json_text(*dense_act_fn));
  }
  if (is_gated_act && *is_gated_act != c.is_gated_act()) {
    detail::config_key_error(source, "is_gated_act",
                             std::string("expected ") + (c.is_gated_act() ? "true" : "false") +
                                 " (derived from feed_forward_proj \"" + c.feed_forward_proj + "\"), found " +
                                 detail::config_json_text(*is_gated_act));
  }
  return c;
}

T5Config T5Config::from_file(const std::filesystem::path& path) {
  return from_json(io::read_json_file(path), path.string());
}

json T5Config::to_json() const {
  json j;
  j["architectures"] = json::array({"T5EncoderModel"});
  j["model_type"] = kT5ModelType;
  j["vocab_size"] = vocab_size;
  j["d_model"] = d_model;
  j["d_kv"] = d_kv;
  j["d_ff"] = d_ff;
  j["num_layers"] = num_layers;
  j["num_decoder_layers"] = num_layers;
  j["num_heads"] = num_heads;
  j["relative_attention_num_buckets"] = relative_attention_num_buckets;
  j["relative_attention_max_distance"] = relative_attention_max_distance;
  j["layer_norm_epsilon"] = layer_norm_epsilon;
  j["feed_forward_proj"] = feed_forward_proj;
  j["dense_act_fn"] = dense_act_fn();
  j["is_gated_act"] = is_gated_act();
  j["initializer_factor"] = initializer_factor;
  // T5Config defaults for the keys the encoder does not use.
  j["dropout_rate"] = 0.0;
  j["classifier_dropout"] = 0.0;
  j["is_encoder_decoder"] = true;
  j["use_cache"] = false;
  j["pad_token_id"] = 0;
  j["eos_token_id"] = 1;
  j["decoder_start_token_id"] = 0;
  j["tie_word_embeddings"] = false;
  return j;
}

void T5Config::save(const std::filesystem::path& path) const {
  validate();
  io::write_text_atomic(path, to_json().dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

T5Config T5Config::t5_v1_1_xxl() {
  // google/t5-v1_1-xxl config.json, as SD3.5's text_encoder_3/config.json and
  // FLUX.1's text_encoder_2/config.json ship it (models.md §4).
  T5Config c;
  c.vocab_size = 32128;
  c.d_model = 4096;
  c.d_kv = 64;
  c.d_ff = 10240;
  c.num_layers = 24;
  c.num_heads = 64;
  c.relative_attention_num_buckets = 32;
  c.relative_attention_max_distance = 128;
  c.layer_norm_epsilon = 1e-6;
  c.feed_forward_proj = "gated-gelu";
  c.initializer_factor = 1.0;
  return c;
}

bool T5Config::operator==(const T5Config& o) const {
  return vocab_size == o.vocab_size && d_model == o.d_model && d_kv == o.d_kv && d_ff == o.d_ff &&
         num_layers == o.num_layers && num_heads == o.num_heads &&
         relative_attention_num_buckets == o.relative_attention_num_buckets &&
         relative_attention_max_distance == o.relative_attention_max_distance &&
         layer_norm_epsilon == o.layer_norm_epsilon && feed_forward_proj == o.feed_forward_proj &&
         initializer_factor == o.initializer_factor;
}

}  // namespace flowgrpo::models
