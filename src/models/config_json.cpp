#include "models/config_json.h"

#include <stdexcept>

namespace flowgrpo::models::detail {

using nlohmann::json;

std::string config_json_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void config_key_error(const std::string& source, const std::string& key, const std::string& what) {
  throw std::invalid_argument(source + ": config key \"" + key + "\": " + what);
}

int64_t config_int(const json& value, const std::string& key, const std::string& source) {
  if (!value.is_number_integer())
    config_key_error(source, key, "expected an integer, found " + config_json_text(value));
  return value.get<int64_t>();
}

std::optional<int64_t> config_optional_int(const json& value, const std::string& key,
                                           const std::string& source) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_number_integer())
    config_key_error(source, key, "expected null or an integer, found " + config_json_text(value));
  return value.get<int64_t>();
}

double config_number(const json& value, const std::string& key, const std::string& source) {
  if (!value.is_number())
    config_key_error(source, key, "expected a number, found " + config_json_text(value));
  return value.get<double>();
}

bool config_bool(const json& value, const std::string& key, const std::string& source) {
  if (!value.is_boolean())
    config_key_error(source, key, "expected true or false, found " + config_json_text(value));
  return value.get<bool>();
}

std::string config_string(const json& value, const std::string& key, const std::string& source) {
  if (!value.is_string())
    config_key_error(source, key, "expected a string, found " + config_json_text(value));
  return value.get<std::string>();
}

void config_require_positive(int64_t value, const std::string& key, const std::string& source) {
  if (value < 1) config_key_error(source, key, "expected >= 1, found " + std::to_string(value));
}

const std::set<std::string>& pretrained_config_generic_keys() {
  static const std::set<std::string> keys{"_attn_implementation",
                                          "_attn_implementation_autoset",
                                          "_commit_hash",
                                          "_name_or_path",
                                          "add_cross_attention",
                                          "bad_words_ids",
                                          "begin_suppress_tokens",
                                          "chunk_size_feed_forward",
                                          "cross_attention_hidden_size",
                                          "decoder_start_token_id",
                                          "diversity_penalty",
                                          "do_sample",
                                          "early_stopping",
                                          "encoder_no_repeat_ngram_size",
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
                                          "no_repeat_ngram_size",
                                          "num_beam_groups",
                                          "num_beams",
                                          "num_return_sequences",
                                          "output_attentions",
                                          "output_hidden_states",
                                          "output_scores",
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
                                          "use_bfloat16"};
  return keys;
}

const std::set<std::string>& diffusers_config_metadata_keys() {
  static const std::set<std::string> keys{"_class_name", "_diffusers_version", "_name_or_path",
                                          "_use_default_values", "_commit_hash"};
  return keys;
}

}  // namespace flowgrpo::models::detail
