// T5 sentencepiece tokenizer: transformers v4.40's slow T5Tokenizer
// (models/t5/tokenization_t5.py) on top of the sentencepiece library, with
// PreTrainedTokenizer's added-token splitting (tokenization_utils.py), truncation
// and padding (tokenization_utils_base.py).

#include "flowgrpo/text/t5_tokenizer.h"

#include "flowgrpo/text/unicode.h"

#include <sentencepiece_processor.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace flowgrpo::text {
namespace {
// A namespace of its own: in the unity build this file shares a translation unit
// (and so the anonymous namespace) with clip_tokenizer.cpp.
namespace t5_detail {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kSpieceUnderline = "\xE2\x96\x81";  // U+2581 "▁"

// T5Tokenizer(legacy=False) loads the model with normalizer_spec.add_dummy_prefix
// forced to false (get_spm_processor: ModelProto.MergeFrom). Protobuf merges
// repeated occurrences of a message field, so appending this to the serialized
// ModelProto does the same without sentencepiece's protobuf headers: field 3
// (normalizer_spec, length-delimited, 2 bytes) holding field 3 (add_dummy_prefix,
// varint) = 0.
constexpr char kNoDummyPrefixPatch[] = {0x1A, 0x02, 0x18, 0x00};

// Whether the fast tokenizer of `tokenizer_json` (if the file exists) puts "▁" before
// the first word: its Metaspace pre-tokenizer (alone or in a Sequence) with
// prepend_scheme "always" / "first" or, in files from tokenizers < 0.14,
// add_prefix_space true. No file, or no Metaspace: the slow tokenizer's behaviour (true).
bool fast_tokenizer_prepends(const fs::path& tokenizer_json) {
  std::error_code ec;
  if (!fs::exists(tokenizer_json, ec)) return true;
  json j;
  try {
    std::ifstream in(tokenizer_json);
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw std::invalid_argument("T5 tokenizer: " + tokenizer_json.string() +
                                " is not valid JSON: " + e.what());
  }
  std::vector<const json*> candidates;
  if (j.is_object() && j.contains("pre_tokenizer") && j["pre_tokenizer"].is_object()) {
    const json& pre = j["pre_tokenizer"];
    candidates.push_back(&pre);
    if (pre.contains("pretokenizers") && pre["pretokenizers"].is_array())
      for (const auto& p : pre["pretokenizers"]) candidates.push_back(&p);
  }
  for (const json* p : candidates) {
    if (!p->is_object() || p->value("type", "") != "Metaspace") continue;
    if (p->contains("prepend_scheme") && (*p)["prepend_scheme"].is_string())
      return (*p)["prepend_scheme"].get<std::string>() != "never";
    if (p->contains("add_prefix_space") && (*p)["add_prefix_space"].is_boolean())
      return (*p)["add_prefix_space"].get<bool>();
  }
  return true;
}

// transformers writes int(1e30) as model_max_length for "no limit".
constexpr double kNoLengthLimit = 1e9;

std::string read_binary_file(const fs::path& path, const char* what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::invalid_argument("T5 tokenizer: " + std::string(what) + " '" + path.string() +
                                "' does not exist or is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in || (!in.good() && !in.eof())) {
    throw std::invalid_argument("T5 tokenizer: cannot read " + std::string(what) + " '" + path.string() +
                                "'");
  }
  return buffer.str();
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (size_t hit = text.find(from); hit != std::string_view::npos; hit = text.find(from, at)) {
    out.append(text.substr(at, hit - at)).append(to);
    at = hit + from.size();
  }
  out.append(text.substr(at));
  return out;
}

// Python's str.lstrip() / str.rstrip() (whitespace as str.isspace) on valid UTF-8.
std::string python_lstrip(const std::string& text) {
  const std::u32string chars = unicode::decode_utf8(text);
  size_t begin = 0;
  while (begin < chars.size() && unicode::is_python_space(chars[begin])) ++begin;
  return unicode::encode_utf8(std::u32string_view(chars).substr(begin));
}

std::string python_rstrip(const std::string& text) {
  const std::u32string chars = unicode::decode_utf8(text);
  size_t end = chars.size();
  while (end > 0 && unicode::is_python_space(chars[end - 1])) --end;
  return unicode::encode_utf8(std::u32string_view(chars).substr(0, end));
}

json parse_config_json(const fs::path& path) {
  const std::string text = read_binary_file(path, "tokenizer config");
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument("T5 tokenizer: " + path.string() + ": invalid JSON: " + e.what());
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number like 1e999
    throw std::invalid_argument("T5 tokenizer: " + path.string() + ": unreadable JSON: " + e.what());
  }
}

std::string config_token_string(const json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  throw std::invalid_argument(where + ": expected a string or an object with a string \"content\", got " +
                              value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool config_flag(const json& object, const char* key, bool fallback, const std::string& where) {
  if (!object.contains(key) || object[key].is_null()) return fallback;
  if (!object[key].is_boolean()) {
    throw std::invalid_argument(where + ": \"" + key + "\": expected true or false, got " +
                                object[key].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return object[key].get<bool>();
}

}  // namespace t5_detail
}  // namespace

struct T5Tokenizer::State {
  /// One of transformers' AddedTokens (normalized and single_word do not apply here).
  struct Added {
    std::string content;
    int64_t id = 0;
    bool lstrip = false;
    bool rstrip = false;
    bool special = true;
  };

  T5TokenizerOptions options;
  // The original model for legacy=true, the model without dummy prefix otherwise:
  // transformers replaces sp_model, so vocabulary lookups use it too (same pieces).
  sentencepiece::SentencePieceProcessor sp;
  int64_t piece_count = 0;
  std::unordered_map<std::string, Added> added;  // content -> token
  std::map<int64_t, std::string> added_by_id;
  std::vector<std::string> added_longest_first;  // for the split: longest match wins
  std::array<bool, 256> may_start_added{};       // first bytes of added tokens
  int64_t eos_id = 0, unk_id = 0, pad_id = 0;
  int64_t vocab_size = 0;
  // len(sp_model.encode(unk_token)) with the model without dummy prefix (legacy=false).
  size_t unk_token_length = 0;

  static std::shared_ptr<const State> load(const std::filesystem::path& spiece_model,
                                           const T5TokenizerOptions& options,
                                           const std::vector<Added>& overrides,
                                           const std::string& overrides_source);

  /// sentencepiece's pieces of `text` (unknown characters come as their surface form).
  void sp_encode(std::string_view text, std::vector<std::string>& out) const {
    std::vector<std::string> pieces;
    const auto status = sp.Encode(text, &pieces);
    if (!status.ok()) throw std::runtime_error("T5 tokenizer: sentencepiece failed: " + status.ToString());
    out.insert(out.end(), std::make_move_iterator(pieces.begin()), std::make_move_iterator(pieces.end()));
  }

  /// T5Tokenizer._tokenize: one piece of text between added tokens.
  void tokenize_text(const std::string& text, std::vector<std::string>& out) const {
    if (options.legacy || !(starts_with_space(text))) {
      sp_encode(text, out);
      return;
    }
    // Without the dummy prefix sentencepiece would drop the leading "▁" of the piece
    // ("▁Hey" -> "H", "e", "y"), so transformers encodes it behind the unk token,
    // which ends in a non-space, and drops the unk token's pieces again.
    std::vector<std::string> pieces;
    sp_encode(options.unk_token + text, pieces);
    const size_t skip = pieces.size() >= unk_token_length ? unk_token_length : 0;
    out.insert(out.end(), std::make_move_iterator(pieces.begin() + static_cast<std::ptrdiff_t>(skip)),
               std::make_move_iterator(pieces.end()));
  }

  static bool starts_with_space(std::string_view text) {
    return t5_detail::starts_with(text, t5_detail::kSpieceUnderline) || t5_detail::starts_with(text, " ");
  }

  /// transformers' Trie.split: the text cut before and after every added token.
  /// Leftmost match first, the longest at that position; for T5's tokens (no one a
  /// prefix or an infix of another) this is exactly what the trie does.
  std::vector<std::string> split_on_added(std::string_view text) const {
    std::vector<std::string> parts;
    size_t start = 0;
    size_t at = 0;
    while (at < text.size()) {
      const std::string* match = nullptr;
      if (may_start_added[static_cast<unsigned char>(text[at])]) {
        for (const std::string& token : added_longest_first) {
          if (text.substr(at, token.size()) == token) {
            match = &token;
            break;
          }
        }
      }
      if (match == nullptr) {
        ++at;
        continue;
      }
      if (at > start) parts.emplace_back(text.substr(start, at - start));
      parts.push_back(*match);
      at += match->size();
      start = at;
    }
    if (start < text.size()) parts.emplace_back(text.substr(start));
    return parts;
  }

  /// T5Tokenizer.tokenize followed by convert_tokens_to_ids, without eos.
  std::vector<int64_t> content_ids(std::string_view text) const {
    std::string prefixed;
    if (!options.legacy && !text.empty()) {
      // T5Tokenizer.tokenize (legacy=False): one "▁" in front of the text, literal
      // "▁" turned into spaces; the dummy prefix is off in `sp`.
      prefixed = std::string(t5_detail::kSpieceUnderline) +
                 t5_detail::replace_all(text, t5_detail::kSpieceUnderline, " ");
      text = prefixed;
    }
    std::vector<std::string> parts = split_on_added(text);
    // PreTrainedTokenizer.tokenize: an added token with rstrip / lstrip eats the
    // whitespace of its neighbours, in order, so a neighbour may be stripped twice.
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto it = added.find(parts[i]);
      if (it == added.end()) continue;
      if (it->second.rstrip && i + 1 < parts.size() && !parts[i + 1].empty()) {
        parts[i + 1] = t5_detail::python_lstrip(parts[i + 1]);
      }
      if (it->second.lstrip && i > 0 && !parts[i - 1].empty()) {
        parts[i - 1] = t5_detail::python_rstrip(parts[i - 1]);
      }
    }
    std::vector<std::string> tokens;
    for (const std::string& part : parts) {
      if (part.empty()) continue;  // fully stripped
      if (added.count(part) != 0) {
        tokens.push_back(part);
      } else {
        tokenize_text(part, tokens);
      }
    }
    if (!options.legacy && tokens.size() > 1 && tokens[0] == t5_detail::kSpieceUnderline) {
      // The "▁" put in front of a text that starts with a special token stays alone; drop it.
      const auto it = added.find(tokens[1]);
      if (it != added.end() && it->second.special) tokens.erase(tokens.begin());
    }
    std::vector<int64_t> ids;
    ids.reserve(tokens.size());
    for (const std::string& token : tokens) {
      // convert_tokens_to_ids: added tokens first, then sp.piece_to_id, which maps
      // the surface form of an unknown character to the unk id.
      const auto it = added.find(token);
      ids.push_back(it != added.end() ? it->second.id : static_cast<int64_t>(sp.PieceToId(token)));
    }
    return ids;
  }

  /// T5Tokenizer._add_eos_if_not_present.
  void add_eos(std::vector<int64_t>& ids) const {
    if (ids.empty() || ids.back() != eos_id) ids.push_back(eos_id);
  }
};

std::shared_ptr<const T5Tokenizer::State> T5Tokenizer::State::load(const std::filesystem::path& spiece_model,
                                                                   const T5TokenizerOptions& options,
                                                                   const std::vector<Added>& overrides,
                                                                   const std::string& overrides_source) {
  if (options.extra_ids < 0) {
    throw std::invalid_argument("T5 tokenizer: extra_ids must be >= 0, got " +
                                std::to_string(options.extra_ids));
  }
  if (options.model_max_length < 2) {
    throw std::invalid_argument("T5 tokenizer: model_max_length must be >= 2, got " +
                                std::to_string(options.model_max_length));
  }
  for (const auto& [role, token] :
       {std::pair<const char*, const std::string*>{"eos_token", &options.eos_token},
        {"unk_token", &options.unk_token},
        {"pad_token", &options.pad_token}}) {
    if (token->empty()) throw std::invalid_argument(std::string("T5 tokenizer: ") + role + " is empty");
  }

  auto state = std::make_shared<State>();
  state->options = options;
  std::string model = t5_detail::read_binary_file(spiece_model, "sentencepiece model");
  if (!options.legacy || !options.add_dummy_prefix)
    model.append(t5_detail::kNoDummyPrefixPatch, sizeof(t5_detail::kNoDummyPrefixPatch));
  const auto status = state->sp.LoadFromSerializedProto(model);
  if (!status.ok()) {
    throw std::invalid_argument(
        "T5 tokenizer: '" + spiece_model.string() +
        "' is not a valid sentencepiece model (a serialized ModelProto such as spiece.model); "
        "sentencepiece says: " +
        status.ToString());
  }
  state->piece_count = state->sp.GetPieceSize();
  if (state->piece_count <= 0) {
    throw std::invalid_argument("T5 tokenizer: sentencepiece model '" + spiece_model.string() +
                                "' has no pieces");
  }
  const int64_t n = state->piece_count;

  // T5Tokenizer.__init__: the sentinels count down from the last id, <extra_id_0> highest.
  std::map<int64_t, Added> decoder;
  for (int64_t i = 0; i < options.extra_ids; ++i) {
    const int64_t id = n - 1 + options.extra_ids - i;
    decoder[id] = Added{"<extra_id_" + std::to_string(i) + ">", id, true, true, true};
  }
  // A saved tokenizer's added_tokens_decoder replaces entries by id.
  for (const Added& token : overrides) decoder[token.id] = token;
  for (const auto& [id, token] : decoder) {
    if (token.content.empty()) {
      throw std::invalid_argument("T5 tokenizer: " + overrides_source + ": added token " +
                                  std::to_string(id) + " is empty");
    }
    const auto [it, inserted] = state->added.emplace(token.content, token);
    if (!inserted) {
      throw std::invalid_argument(
          "T5 tokenizer: " + overrides_source + ": ids " + std::to_string(it->second.id) + " and " +
          std::to_string(id) + " are both added token " +
          nlohmann::json(token.content).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  }

  // get_vocab(): every piece (an added token's content where one has the id) and the
  // added tokens; its size is the next free id.
  std::unordered_map<std::string, int64_t> vocab;
  for (int64_t id = 0; id < n; ++id) {
    const auto it = decoder.find(id);
    vocab[it != decoder.end() ? it->second.content : state->sp.IdToPiece(static_cast<int>(id))] = id;
  }
  for (const auto& [content, token] : state->added) vocab[content] = token.id;
  // PreTrainedTokenizer.__init__ then adds the special tokens that are not added
  // tokens yet, in SPECIAL_TOKENS_ATTRIBUTES order: a piece keeps its id, anything
  // else gets the next id.
  auto next_id = static_cast<int64_t>(vocab.size());
  for (const std::string* token : {&options.eos_token, &options.unk_token, &options.pad_token}) {
    if (state->added.count(*token) != 0) continue;
    const auto it = vocab.find(*token);
    const int64_t id = it != vocab.end() ? it->second : next_id++;
    vocab[*token] = id;
    state->added.emplace(*token, Added{*token, id, false, false, true});
  }
  state->vocab_size = static_cast<int64_t>(vocab.size());

  for (const auto& [content, token] : state->added) {
    state->added_by_id[token.id] = content;
    state->added_longest_first.push_back(content);
    state->may_start_added[static_cast<unsigned char>(content[0])] = true;
  }
  std::sort(state->added_longest_first.begin(), state->added_longest_first.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() != b.size() ? a.size() > b.size() : a < b;
            });
  state->eos_id = state->added.at(options.eos_token).id;
  state->unk_id = state->added.at(options.unk_token).id;
  state->pad_id = state->added.at(options.pad_token).id;
  if (!options.legacy) {
    std::vector<std::string> pieces;
    state->sp_encode(options.unk_token, pieces);
    state->unk_token_length = pieces.size();
  }
  return state;
}

T5Tokenizer::T5Tokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}

T5Tokenizer T5Tokenizer::from_file(const std::filesystem::path& spiece_model,
                                   const T5TokenizerOptions& options) {
  return T5Tokenizer(State::load(spiece_model, options, {}, spiece_model.string()));
}

T5Tokenizer T5Tokenizer::from_directory(const std::filesystem::path& dir) {
  using t5_detail::json;
  T5TokenizerOptions options;
  options.add_dummy_prefix = t5_detail::fast_tokenizer_prepends(dir / "tokenizer.json");
  std::vector<State::Added> overrides;
  const std::filesystem::path config_path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::exists(config_path, ec)) {
    const json config = t5_detail::parse_config_json(config_path);
    const std::string file = "T5 tokenizer: " + config_path.string();
    if (!config.is_object()) throw std::invalid_argument(file + ": expected a JSON object");
    const auto where = [&](const std::string& key) { return file + ": \"" + key + "\""; };
    for (const auto& [key, target] : {std::pair<const char*, std::string*>{"eos_token", &options.eos_token},
                                      {"unk_token", &options.unk_token},
                                      {"pad_token", &options.pad_token}}) {
      // A null token keeps the default: padding and eos cannot do without theirs.
      if (config.contains(key) && !config[key].is_null())
        *target = t5_detail::config_token_string(config[key], where(key));
    }
    if (config.contains("model_max_length") && !config["model_max_length"].is_null()) {
      const json& value = config["model_max_length"];
      if (!value.is_number()) {
        throw std::invalid_argument(where("model_max_length") + ": expected a number, got " +
                                    value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      if (value.get<double>() < t5_detail::kNoLengthLimit) {
        if (!value.is_number_integer()) {
          throw std::invalid_argument(where("model_max_length") + ": expected an integer, got " +
                                      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
        options.model_max_length = value.get<int64_t>();
      }
    }
    if (config.contains("extra_ids") && !config["extra_ids"].is_null()) {
      const json& value = config["extra_ids"];
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        throw std::invalid_argument(where("extra_ids") + ": expected a non-negative integer, got " +
                                    value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
      options.extra_ids = value.get<int64_t>();
    }
    // T5Tokenizer(legacy=None) means legacy.
    options.legacy = t5_detail::config_flag(config, "legacy", true, file);
    if (config.contains("added_tokens_decoder") && !config["added_tokens_decoder"].is_null()) {
      const json& decoder = config["added_tokens_decoder"];
      const std::string decoder_where = where("added_tokens_decoder");
      if (!decoder.is_object())
        throw std::invalid_argument(decoder_where + ": expected an object {id: token}");
      for (const auto& [key, value] : decoder.items()) {
        const std::string entry = decoder_where + "[\"" + key + "\"]";
        int64_t id = -1;
        try {
          size_t used = 0;
          id = std::stoll(key, &used);
          if (used != key.size()) id = -1;
        } catch (const std::exception&) {
          id = -1;
        }
        if (id < 0)
          throw std::invalid_argument(decoder_where + ": key '" + key + "' is not a non-negative integer id");
        if (!value.is_object())
          throw std::invalid_argument(entry + ": expected an object, got " +
                                      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        if (t5_detail::config_flag(value, "single_word", false, entry)) {
          throw std::invalid_argument(entry + ": \"single_word\": true is not supported by the T5 tokenizer");
        }
        State::Added token;
        token.content = t5_detail::config_token_string(value, entry);
        token.id = id;
        token.lstrip = t5_detail::config_flag(value, "lstrip", false, entry);
        token.rstrip = t5_detail::config_flag(value, "rstrip", false, entry);
        // AddedToken's default; all_special_tokens decides the legacy=false "▁" drop.
        token.special = t5_detail::config_flag(value, "special", false, entry);
        overrides.push_back(std::move(token));
      }
    }
  }
  return T5Tokenizer(State::load(dir / "spiece.model", options, overrides, config_path.string()));
}

std::vector<int64_t> T5Tokenizer::encode(std::string_view text) const {
  try {
    (void)unicode::decode_utf8(text);  // Python strings are valid Unicode; so must ours be
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("T5 tokenizer: ") + e.what());
  }
  std::vector<int64_t> ids = state_->content_ids(text);
  state_->add_eos(ids);
  return ids;
}

T5BatchEncoding T5Tokenizer::encode_batch(const std::vector<std::string>& texts, int64_t max_length) const {
  if (max_length < 2) {
    throw std::invalid_argument("T5 tokenizer: max_length must be >= 2, got " + std::to_string(max_length));
  }
  const auto batch = static_cast<int64_t>(texts.size());
  T5BatchEncoding out;
  out.input_ids = torch::full({batch, max_length}, state_->pad_id, torch::kInt64);
  out.attention_mask = torch::zeros({batch, max_length}, torch::kInt64);
  out.num_tokens_untruncated.reserve(texts.size());
  auto ids_acc = out.input_ids.accessor<int64_t, 2>();
  auto mask_acc = out.attention_mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const std::string& text = texts[static_cast<size_t>(b)];
    try {
      (void)unicode::decode_utf8(text);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("T5 tokenizer: prompt " + std::to_string(b) + " of the batch: " + e.what());
    }
    std::vector<int64_t> ids = state_->content_ids(text);
    std::vector<int64_t> full = ids;
    state_->add_eos(full);
    out.num_tokens_untruncated.push_back(static_cast<int64_t>(full.size()));
    // prepare_for_model: num_special_tokens_to_add() is len(_add_eos_if_not_present([]))
    // = 1, so the content is cut to max_length - 1 ids *before* eos is added, and
    // eos is then skipped if the kept ids happen to end with a literal </s>.
    if (static_cast<int64_t>(ids.size()) + 1 > max_length) {
      ids.resize(static_cast<size_t>(max_length - 1));
      state_->add_eos(ids);
    } else {
      ids = std::move(full);
    }
    for (size_t k = 0; k < ids.size(); ++k) {
      ids_acc[b][static_cast<int64_t>(k)] = ids[k];
      mask_acc[b][static_cast<int64_t>(k)] = 1;
    }
  }
  return out;
}

T5BatchEncoding T5Tokenizer::encode_batch(const std::vector<std::string>& texts) const {
  return encode_batch(texts, state_->options.model_max_length);
}

int64_t T5Tokenizer::token_to_id(const std::string& token) const {
  if (const auto it = state_->added.find(token); it != state_->added.end()) return it->second.id;
  const int id = state_->sp.PieceToId(token);
  return state_->sp.IdToPiece(id) == token ? id : -1;
}

const std::string& T5Tokenizer::id_to_token(int64_t id) const {
  if (const auto it = state_->added_by_id.find(id); it != state_->added_by_id.end()) return it->second;
  if (id < 0 || id >= state_->piece_count) {
    throw std::out_of_range("T5 tokenizer: no token has id " + std::to_string(id));
  }
  return state_->sp.IdToPiece(static_cast<int>(id));
}

int64_t T5Tokenizer::eos_id() const {
  return state_->eos_id;
}
int64_t T5Tokenizer::unk_id() const {
  return state_->unk_id;
}
int64_t T5Tokenizer::pad_id() const {
  return state_->pad_id;
}
int64_t T5Tokenizer::model_max_length() const {
  return state_->options.model_max_length;
}
int64_t T5Tokenizer::piece_count() const {
  return state_->piece_count;
}
int64_t T5Tokenizer::vocab_size() const {
  return state_->vocab_size;
}
const T5TokenizerOptions& T5Tokenizer::options() const {
  return state_->options;
}

}  // namespace flowgrpo::text
