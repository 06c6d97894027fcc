#include "flowgrpo/models/text_encoders/t5_config.h"

#include "flowgrpo/io/text_file.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
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

// Keys of T5Config (configuration_t5.py) and of PretrainedConfig
// (configuration_utils.py) that do not change T5EncoderModel's forward: decoder
// and generation settings, dropout (flowgrpo runs the frozen encoder without
// dropout), token ids, bookkeeping. `is_decoder` is among them because
// T5EncoderModel.__init__ forces it to False.
const std::set<std::string>& t5_config_ignored_keys() {
  static const std::set<std::string> keys{
      "_name_or_path",
      "_commit_hash",
      "_attn_implementation",
      "_attn_implementation_autoset",
      "_attn_implementation_internal",
      "add_cross_attention",
      "architectures",
      "bad_words_ids",
      "begin_suppress_tokens",
      "bos_token_id",
      "chunk_size_feed_forward",
      "classifier_dropout",
      "cross_attention_hidden_size",
      "decoder_start_token_id",
      "diversity_penalty",
      "do_sample",
      "dropout_rate",
      "early_stopping",
      "encoder_no_repeat_ngram_size",
      "eos_token_id",
      "exponential_decay_length_penalty",
      "finetuning_task",
      "forced_bos_token_id",
      "forced_eos_token_id",
      "gradient_checkpointing",
      "id2label",
      "is_decoder",
      "is_encoder_decoder",
      "label2id",
      "length_penalty",
      "max_length",
      "min_length",
      "n_positions",
      "no_repeat_ngram_size",
      "num_beam_groups",
      "num_beams",
      "num_decoder_layers",
      "num_labels",
      "num_return_sequences",
      "output_attentions",
      "output_hidden_states",
      "output_past",
      "output_scores",
      "pad_token_id",
      "prefix",
      "problem_type",
      "remove_invalid_values",
      "repetition_penalty",
      "return_dict",
      "return_dict_in_generate",
      "sep_token_id",
      "suppress_tokens",
      "task_specific_params",
      "temperature",
      "tf_legacy_loss",
      "tie_encoder_decoder",
      "tie_word_embeddings",
      "tokenizer_class",
      "top_k",
      "top_p",
      "torch_dtype",
      "torchscript",
      "transformers_version",
      "typical_p",
      "use_bfloat16",
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

std::string t5_json_text(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

[[noreturn]] void t5_config_fail(const std::string& source, const std::string& key, const std::string& what) {
  throw std::invalid_argument(source + ": config key \"" + key + "\": " + what);
}

int64_t t5_config_int(const json& v, const std::string& key, const std::string& source) {
  if (!v.is_number_integer()) t5_config_fail(source, key, "expected an integer, found " + t5_json_text(v));
  return v.get<int64_t>();
}

double t5_config_number(const json& v, const std::string& key, const std::string& source) {
  if (!v.is_number()) t5_config_fail(source, key, "expected a number, found " + t5_json_text(v));
  return v.get<double>();
}

void t5_config_positive(int64_t value, const char* key, const std::string& source) {
  if (value < 1) t5_config_fail(source, key, "expected >= 1, found " + std::to_string(value));
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
    t5_config_fail(source, "feed_forward_proj",
                   std::string("expected \"ACT\" or \"gated-ACT\" with ACT one of ") +
                       kT5SupportedActivations + " (e.g. \"gated-gelu\", \"relu\"), found \"" + proj + "\"");
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
  t5_config_positive(vocab_size, "vocab_size", source);
  t5_config_positive(d_model, "d_model", source);
  t5_config_positive(d_kv, "d_kv", source);
  t5_config_positive(d_ff, "d_ff", source);
  t5_config_positive(num_layers, "num_layers", source);
  t5_config_positive(num_heads, "num_heads", source);
  // The encoder is bidirectional: num_buckets / 2 per direction, of which the
  // first half (num_buckets / 4) are exact distances; transformers divides by
  // that (log(max_distance / max_exact)), so it must be >= 1 ...
  if (relative_attention_num_buckets < 4) {
    t5_config_fail(source, "relative_attention_num_buckets",
                   "expected >= 4 (num_buckets / 4 exact buckets per direction), found " +
                       std::to_string(relative_attention_num_buckets));
  }
  // ... and log(max_distance / max_exact) must be > 0, or the logarithmic
  // buckets are NaN / negative indices.
  const int64_t max_exact = relative_attention_num_buckets / 4;
  if (relative_attention_max_distance <= max_exact) {
    t5_config_fail(source, "relative_attention_max_distance",
                   "expected > relative_attention_num_buckets / 4 = " + std::to_string(max_exact) +
                       ", found " + std::to_string(relative_attention_max_distance));
  }
  if (!std::isfinite(layer_norm_epsilon) || layer_norm_epsilon <= 0.0) {
    t5_config_fail(source, "layer_norm_epsilon",
                   "expected a finite number > 0, found " + t5_json_text(json(layer_norm_epsilon)));
  }
  if (!std::isfinite(initializer_factor) || initializer_factor < 0.0) {
    t5_config_fail(source, "initializer_factor",
                   "expected a finite number >= 0, found " + t5_json_text(json(initializer_factor)));
  }
  t5_parse_feed_forward_proj(feed_forward_proj, source);
}

T5Config T5Config::from_json(const json& j, const std::string& source) {
  if (!j.is_object())
    throw std::invalid_argument(source + ": expected a JSON object, found " + j.type_name());
  T5Config c;
  const json* dense_act_fn = nullptr;
  const json* is_gated_act = nullptr;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& file_key = it.key();
    const json& v = it.value();
    if (t5_config_ignored_keys().count(file_key)) continue;
    const auto alias = t5_config_aliases().find(file_key);
    const std::string key = alias == t5_config_aliases().end() ? file_key : alias->second;
    if (alias != t5_config_aliases().end() && j.contains(key) && j.at(key) != v) {
      t5_config_fail(source, file_key,
                     "is transformers' alias of \"" + key + "\" but differs from it: " + t5_json_text(v) +
                         " vs " + t5_json_text(j.at(key)));
    }
    if (key == "vocab_size") {
      c.vocab_size = t5_config_int(v, file_key, source);
    } else if (key == "d_model") {
      c.d_model = t5_config_int(v, file_key, source);
    } else if (key == "d_kv") {
      c.d_kv = t5_config_int(v, file_key, source);
    } else if (key == "d_ff") {
      c.d_ff = t5_config_int(v, file_key, source);
    } else if (key == "num_layers") {
      c.num_layers = t5_config_int(v, file_key, source);
    } else if (key == "num_heads") {
      c.num_heads = t5_config_int(v, file_key, source);
    } else if (key == "relative_attention_num_buckets") {
      c.relative_attention_num_buckets = t5_config_int(v, file_key, source);
    } else if (key == "relative_attention_max_distance") {
      c.relative_attention_max_distance = t5_config_int(v, file_key, source);
    } else if (key == "layer_norm_epsilon") {
      c.layer_norm_epsilon = t5_config_number(v, file_key, source);
    } else if (key == "initializer_factor") {
      c.initializer_factor = t5_config_number(v, file_key, source);
    } else if (key == "feed_forward_proj") {
      if (!v.is_string()) t5_config_fail(source, file_key, "expected a string, found " + t5_json_text(v));
      c.feed_forward_proj = v.get<std::string>();
    } else if (key == "dense_act_fn") {
      if (!v.is_string()) t5_config_fail(source, file_key, "expected a string, found " + t5_json_text(v));
      dense_act_fn = &v;
    } else if (key == "is_gated_act") {
      if (!v.is_boolean())
        t5_config_fail(source, file_key, "expected true or false, found " + t5_json_text(v));
      is_gated_act = &v;
    } else if (key == "model_type") {
      if (v != json(kT5ModelType)) {
        t5_config_fail(source, file_key,
                       std::string("expected \"") + kT5ModelType + "\", found " + t5_json_text(v) +
                           " (not a T5 encoder config?)");
      }
    } else if (key == "pruned_heads") {
      // Pruned heads change the shapes of q/k/v/o; flowgrpo builds full heads only.
      if (!v.is_null() && !v.empty())
        t5_config_fail(source, file_key,
                       "expected {} (pruned heads are not supported), found " + t5_json_text(v));
    } else {
      throw std::invalid_argument(source + ": unknown config key \"" + file_key +
                                  "\" for T5EncoderModel (known keys: " + kT5ConfigKnownKeys + ")");
    }
  }
  c.validate(source);
  // transformers writes both derived values; a file whose values contradict
  // feed_forward_proj would be read differently by transformers (its kwargs
  // override the derivation), so it is refused rather than guessed at.
  if (dense_act_fn && dense_act_fn->get<std::string>() != c.dense_act_fn()) {
    t5_config_fail(source, "dense_act_fn",
                   "expected \"" + c.dense_act_fn() + "\" (derived from feed_forward_proj \"" +
                       c.feed_forward_proj + "\"), found " + t5_json_text(*dense_act_fn));
  }
  if (is_gated_act && is_gated_act->get<bool>() != c.is_gated_act()) {
    t5_config_fail(source, "is_gated_act",
                   std::string("expected ") + (c.is_gated_act() ? "true" : "false") +
                       " (derived from feed_forward_proj \"" + c.feed_forward_proj + "\"), found " +
                       t5_json_text(*is_gated_act));
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
