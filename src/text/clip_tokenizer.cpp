// CLIP BPE tokenizer: a re-implementation of transformers v4.40's slow
// CLIPTokenizer (tokenization_clip.py) on its no-ftfy path, with
// PreTrainedTokenizer's added-token splitting, truncation and padding.

#include "flowgrpo/text/clip_tokenizer.h"

#include "flowgrpo/text/unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace flowgrpo::text {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// transformers keeps merges[1 : 49152 - 256 - 2 + 1] of merges.txt: CLIP's vocabulary
// is 49152 - 256 - 2 merges plus 256 + 256 byte symbols plus the 2 specials = 49408.
constexpr size_t kMaxMerges = 49152 - 256 - 2;
// The BPE cache grows with every distinct word seen; a long run over a large prompt
// set should not grow without bound, so the cache is dropped when it gets this big.
constexpr size_t kMaxCacheEntries = 1 << 17;
constexpr const char* kEndOfWord = "</w>";
// tokenization_clip.py seeds its BPE cache with these two strings, so a regex piece
// equal to one of them (possible only for a spelling the added-token split did not
// catch, e.g. "<|ENDOFTEXT|>", lower-cased later) maps to the token itself.
constexpr std::array<const char*, 2> kCachedSpecials = {"<|startoftext|>", "<|endoftext|>"};

std::string read_file(const fs::path& path, const char* what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw std::invalid_argument("CLIP tokenizer: " + std::string(what) + " '" + path.string() +
                                "' does not exist or is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in.good() && !in.eof()) {
    throw std::invalid_argument("CLIP tokenizer: cannot read " + std::string(what) + " '" + path.string() +
                                "'");
  }
  return buffer.str();
}

/// 1-based line of byte `offset` in `text` (for JSON parse errors).
size_t line_of(const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<size_t>(
                 std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

json parse_json(const fs::path& path, const char* what) {
  const std::string text = read_file(path, what);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument("CLIP tokenizer: " + path.string() + " line " +
                                std::to_string(line_of(text, e.byte == 0 ? 0 : e.byte - 1)) +
                                ": invalid JSON: " + e.what());
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number like 1e999
    throw std::invalid_argument("CLIP tokenizer: " + path.string() + ": unreadable JSON: " + e.what());
  }
}

/// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the
/// other 68 bytes (controls, space, DEL, NBSP, soft hyphen) for U+0100 onwards in
/// byte order, so that every byte is a visible, non-whitespace character.
std::array<std::string, 256> make_byte_symbols() {
  std::array<std::string, 256> symbols;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    unicode::append_utf8(symbols[static_cast<size_t>(b)], printable ? static_cast<char32_t>(b) : next++);
  }
  return symbols;
}

/// Case-insensitive match of an ASCII literal, as the `regex` module's IGNORECASE
/// does it: by simple case folding, under which U+017F (long s) equals "s" and
/// U+212A (Kelvin sign) equals "k".
bool matches_literal(const std::u32string& word, size_t at, std::string_view literal) {
  if (word.size() - at < literal.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k) {
    char32_t c = word[at + k];
    if (c >= U'A' && c <= U'Z') c += 32;
    if (c == 0x017F) c = U's';
    if (c == 0x212A) c = U'k';
    if (c != static_cast<char32_t>(literal[k])) return false;
  }
  return true;
}

enum class CharClass { kLetter, kNumber, kOther, kNone };

/// Which character class of the pre-tokenisation regex a character belongs to.
CharClass classify(char32_t c) {
  // With IGNORECASE the `regex` module matches U+0345 (combining ypogegrammeni,
  // category Mn, which case-folds to the letter iota) by none of [\p{L}], [\p{N}]
  // and [^\s\p{L}\p{N}], so findall skips it. Checked over all code points: it is
  // the only character whose class IGNORECASE changes.
  if (c == 0x0345) return CharClass::kNone;
  if (unicode::is_letter(c)) return CharClass::kLetter;
  if (unicode::is_number(c)) return CharClass::kNumber;
  if (unicode::is_white_space(c)) return CharClass::kNone;
  return CharClass::kOther;
}

/// re.findall of
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (IGNORECASE) on one lower-cased word: alternatives tried in order at each position.
std::vector<std::u32string> pre_tokenize(const std::u32string& word) {
  static constexpr std::array<std::string_view, 9> kLiterals = {
      "<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  std::vector<std::u32string> pieces;
  size_t i = 0;
  while (i < word.size()) {
    size_t end = i;
    for (std::string_view literal : kLiterals) {
      if (matches_literal(word, i, literal)) {
        end = i + literal.size();
        break;
      }
    }
    if (end == i) {
      const CharClass cls = classify(word[i]);
      if (cls == CharClass::kNumber) {
        end = i + 1;  // [\p{N}]: every digit is its own piece
      } else if (cls != CharClass::kNone) {
        end = i + 1;
        while (end < word.size() && classify(word[end]) == cls) ++end;
      }
    }
    if (end == i) {
      ++i;  // no alternative matches here: findall moves on
      continue;
    }
    pieces.emplace_back(word, i, end - i);
    i = end;
  }
  return pieces;
}

/// transformers' BasicTokenizer(do_lower_case=True, strip_accents=False,
/// do_split_on_punc=False, tokenize_chinese_chars=True).tokenize(text): the
/// normalisation CLIPTokenizer uses when ftfy is not installed.
std::vector<std::u32string> basic_tokenize(const std::u32string& text) {
  // _clean_text: drop NUL, U+FFFD and control-like (category C*) characters except
  // \t \n \r, which like Zs become a plain space.
  std::u32string cleaned;
  cleaned.reserve(text.size());
  for (char32_t c : text) {
    const bool tab_or_newline = c == U'\t' || c == U'\n' || c == U'\r';
    if (c == 0 || c == 0xFFFD || (!tab_or_newline && unicode::is_other(c))) continue;
    cleaned.push_back(c == U' ' || tab_or_newline || unicode::is_space_separator(c) ? U' ' : c);
  }
  // _tokenize_chinese_chars: every CJK ideograph becomes a word of its own.
  std::u32string spaced;
  spaced.reserve(cleaned.size());
  for (char32_t c : cleaned) {
    if (unicode::is_cjk_ideograph(c)) {
      spaced.push_back(U' ');
      spaced.push_back(c);
      spaced.push_back(U' ');
    } else {
      spaced.push_back(c);
    }
  }
  const std::u32string normalized = unicode::to_nfc(spaced);
  // whitespace_tokenize is Python's str.split(), which also splits on characters
  // such as U+2028 that _clean_text left in place; each word is lower-cased alone.
  std::vector<std::u32string> words;
  size_t i = 0;
  while (i < normalized.size()) {
    while (i < normalized.size() && unicode::is_python_space(normalized[i])) ++i;
    size_t end = i;
    while (end < normalized.size() && !unicode::is_python_space(normalized[end])) ++end;
    if (end > i) words.push_back(unicode::to_lower(std::u32string_view(normalized).substr(i, end - i)));
    i = end;
  }
  return words;
}

std::string token_string(const json& value, const std::string& where) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object()) {
    for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
      if (value.contains(flag) && value[flag].is_boolean() && value[flag].get<bool>()) {
        throw std::invalid_argument(where + ": \"" + flag +
                                    "\": true is not supported by the CLIP tokenizer");
      }
    }
    if (value.contains("content") && value["content"].is_string()) return value["content"].get<std::string>();
  }
  throw std::invalid_argument(where + ": expected a string or an object with a string \"content\", got " +
                              value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

struct ClipTokenizer::State {
  ClipTokenizerOptions options;
  std::unordered_map<std::string, int64_t> vocab;
  std::unordered_map<int64_t, std::string> tokens_by_id;
  std::unordered_map<std::string, size_t> merge_ranks;  // "first second" -> rank
  std::array<std::string, 256> byte_symbols = make_byte_symbols();
  // Strings cut out of the text before normalisation, longest first so that the
  // scan prefers the longest match at a position (as transformers' trie does).
  std::vector<std::pair<std::u32string, int64_t>> specials;
  std::unordered_map<std::string, int64_t> special_ids;
  int64_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::string>> cache;

  int64_t lookup(const std::string& token) const {
    if (auto it = special_ids.find(token); it != special_ids.end()) return it->second;
    if (auto it = vocab.find(token); it != vocab.end()) return it->second;
    return -1;
  }

  std::vector<std::string> bpe(const std::string& piece_bytes) const;
  void run(std::string_view text, std::vector<std::string>* tokens, std::vector<int64_t>* ids) const;
};

std::vector<std::string> ClipTokenizer::State::bpe(const std::string& piece_bytes) const {
  std::string encoded;
  for (unsigned char b : piece_bytes) encoded += byte_symbols[b];
  for (const char* special : kCachedSpecials) {
    if (encoded == special) return {encoded};
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (auto it = cache.find(encoded); it != cache.end()) return it->second;
  }
  std::vector<std::string> word;
  word.reserve(piece_bytes.size());
  for (unsigned char b : piece_bytes) word.push_back(byte_symbols[b]);
  word.back() += kEndOfWord;
  while (word.size() > 1) {
    // The adjacent pair with the lowest rank; every occurrence of it is merged,
    // left to right, before the next pair is chosen.
    size_t best_rank = SIZE_MAX;
    size_t best_at = 0;
    for (size_t k = 0; k + 1 < word.size(); ++k) {
      auto it = merge_ranks.find(word[k] + ' ' + word[k + 1]);
      if (it != merge_ranks.end() && it->second < best_rank) best_rank = it->second, best_at = k;
    }
    if (best_rank == SIZE_MAX) break;
    const std::string first = word[best_at];
    const std::string second = word[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t k = 0; k < word.size();) {
      if (k + 1 < word.size() && word[k] == first && word[k + 1] == second) {
        merged.push_back(first + second);
        k += 2;
      } else {
        merged.push_back(std::move(word[k]));
        k += 1;
      }
    }
    word = std::move(merged);
  }
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kMaxCacheEntries) cache.clear();
  cache.emplace(encoded, word);
  return word;
}

void ClipTokenizer::State::run(std::string_view text, std::vector<std::string>* tokens,
                               std::vector<int64_t>* ids) const {
  const std::u32string decoded = unicode::decode_utf8(text);
  const auto emit = [&](const std::string& token, int64_t id) {
    if (tokens) tokens->push_back(token);
    if (ids) ids->push_back(id);
  };
  const auto encode_segment = [&](size_t begin, size_t end) {
    if (begin == end) return;
    for (const std::u32string& word : basic_tokenize(decoded.substr(begin, end - begin))) {
      for (const std::u32string& piece : pre_tokenize(word)) {
        for (const std::string& token : bpe(unicode::encode_utf8(piece))) {
          const int64_t id = lookup(token);
          emit(token, id >= 0 ? id : unk_id);
        }
      }
    }
  };
  // transformers' tokenize(): special tokens are cut out verbatim (case-sensitive,
  // before any normalisation) and each remaining segment is tokenized on its own.
  size_t segment_begin = 0;
  size_t i = 0;
  while (i < decoded.size()) {
    const std::pair<std::u32string, int64_t>* found = nullptr;
    for (const auto& special : specials) {
      if (decoded.compare(i, special.first.size(), special.first) == 0) {
        found = &special;
        break;
      }
    }
    if (!found) {
      ++i;
      continue;
    }
    encode_segment(segment_begin, i);
    emit(unicode::encode_utf8(found->first), found->second);
    i += found->first.size();
    segment_begin = i;
  }
  encode_segment(segment_begin, decoded.size());
}

ClipTokenizer::ClipTokenizer(std::shared_ptr<State> state) : state_(std::move(state)) {}

ClipTokenizer ClipTokenizer::from_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                        const ClipTokenizerOptions& options) {
  return from_files_with_added(vocab_json, merges_txt, options, {});
}

ClipTokenizer ClipTokenizer::from_files_with_added(const fs::path& vocab_json, const fs::path& merges_txt,
                                                   const ClipTokenizerOptions& options,
                                                   const std::map<std::string, int64_t>& added_tokens) {
  if (options.model_max_length < 2) {
    throw std::invalid_argument("CLIP tokenizer: model_max_length must be >= 2 (bos and eos), got " +
                                std::to_string(options.model_max_length));
  }
  auto state = std::make_shared<State>();
  state->options = options;

  const json vocab = parse_json(vocab_json, "vocab file");
  if (!vocab.is_object() || vocab.empty()) {
    throw std::invalid_argument("CLIP tokenizer: " + vocab_json.string() +
                                ": expected a non-empty JSON object {token: id}");
  }
  for (const auto& [token, value] : vocab.items()) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0) {
      throw std::invalid_argument("CLIP tokenizer: " + vocab_json.string() + ": token " + json(token).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  " has id " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ", expected a non-negative integer");
    }
    const auto id = value.get<int64_t>();
    auto [it, inserted] = state->tokens_by_id.emplace(id, token);
    if (!inserted) {
      throw std::invalid_argument("CLIP tokenizer: " + vocab_json.string() + ": tokens " +
                                  json(it->second).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " and " + json(token).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " share id " +
                                  std::to_string(id));
    }
    state->vocab.emplace(token, id);
  }

  const std::string merges = read_file(merges_txt, "merges file");
  std::istringstream lines(merges);
  std::string line;
  size_t line_number = 0;
  size_t merges_read = 0;
  while (merges_read < kMaxMerges && std::getline(lines, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) {
      // transformers drops the first line unconditionally; a file without the
      // header would silently lose its first merge there, so insist on it here.
      if (line.rfind("#version", 0) != 0) {
        throw std::invalid_argument("CLIP tokenizer: " + merges_txt.string() +
                                    " line 1: expected the '#version: ...' header, got '" + line + "'");
      }
      continue;
    }
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string part; fields >> part;) parts.push_back(part);
    if (parts.size() != 2) {
      // Trailing blank lines are harmless (transformers strips the file first).
      if (parts.empty() &&
          merges.find_first_not_of(" \t\r\n", static_cast<size_t>(lines.tellg())) == std::string::npos) {
        break;
      }
      throw std::invalid_argument("CLIP tokenizer: " + merges_txt.string() + " line " +
                                  std::to_string(line_number) +
                                  ": expected two space-separated symbols, got " +
                                  std::to_string(parts.size()) + " in '" + line + "'");
    }
    // As in transformers' dict(zip(merges, range(...))), a repeated pair keeps its last rank.
    state->merge_ranks[parts[0] + ' ' + parts[1]] = merges_read++;
  }
  if (line_number < 1) {
    throw std::invalid_argument("CLIP tokenizer: " + merges_txt.string() + " is empty");
  }

  for (const auto& [content, id] : added_tokens) {
    if (auto it = state->vocab.find(content); it != state->vocab.end() && it->second != id) {
      throw std::invalid_argument("CLIP tokenizer: added token " + json(content).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + " has id " +
                                  std::to_string(id) + " but " + vocab_json.string() + " gives it " +
                                  std::to_string(it->second));
    }
    state->special_ids[content] = id;
    state->tokens_by_id.emplace(id, content);
  }
  const auto special_id = [&](const std::string& token, const char* role) {
    if (token.empty()) throw std::invalid_argument(std::string("CLIP tokenizer: ") + role + " is empty");
    const int64_t id = state->lookup(token);
    if (id < 0) {
      throw std::invalid_argument(std::string("CLIP tokenizer: ") + role + " " + json(token).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                  " is not in " + vocab_json.string());
    }
    state->special_ids[token] = id;
    return id;
  };
  state->bos_id = special_id(options.bos_token, "bos_token");
  state->eos_id = special_id(options.eos_token, "eos_token");
  state->unk_id = special_id(options.unk_token, "unk_token");
  state->pad_id = special_id(options.pad_token, "pad_token");
  for (const std::string& token : options.additional_special_tokens)
    special_id(token, "additional special token");
  for (const auto& [token, id] : state->special_ids) {
    state->specials.emplace_back(unicode::decode_utf8(token), id);
  }
  std::sort(state->specials.begin(), state->specials.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return ClipTokenizer(std::move(state));
}

ClipTokenizer ClipTokenizer::from_directory(const fs::path& dir) {
  ClipTokenizerOptions options;
  std::map<std::string, int64_t> added_tokens;
  const auto read_specials = [&](const fs::path& path) {
    if (!fs::exists(path)) return;
    const json config = parse_json(path, "tokenizer config");
    if (!config.is_object()) {
      throw std::invalid_argument("CLIP tokenizer: " + path.string() + ": expected a JSON object");
    }
    const std::pair<const char*, std::string*> roles[] = {{"bos_token", &options.bos_token},
                                                          {"eos_token", &options.eos_token},
                                                          {"unk_token", &options.unk_token},
                                                          {"pad_token", &options.pad_token}};
    for (const auto& [key, target] : roles) {
      // A null token keeps the default rather than disabling it: padding needs a pad token.
      if (config.contains(key) && !config[key].is_null()) {
        *target = token_string(config[key], path.string() + ": \"" + key + "\"");
      }
    }
    if (config.contains("additional_special_tokens") && !config["additional_special_tokens"].is_null()) {
      const json& list = config["additional_special_tokens"];
      const std::string where = path.string() + ": \"additional_special_tokens\"";
      if (!list.is_array()) throw std::invalid_argument(where + ": expected an array");
      options.additional_special_tokens.clear();
      for (const json& item : list) options.additional_special_tokens.push_back(token_string(item, where));
    }
    if (config.contains("model_max_length")) {
      const json& value = config["model_max_length"];
      const std::string where = path.string() + ": \"model_max_length\"";
      if (!value.is_number()) throw std::invalid_argument(where + ": expected a number, got " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      // transformers writes int(1e30) for "no limit"; that is no length to pad to.
      if (value.is_number_integer() && value.get<double>() < 1e9) {
        options.model_max_length = value.get<int64_t>();
      }
    }
    if (config.contains("added_tokens_decoder")) {
      const json& decoder = config["added_tokens_decoder"];
      const std::string where = path.string() + ": \"added_tokens_decoder\"";
      if (!decoder.is_object()) throw std::invalid_argument(where + ": expected an object {id: token}");
      for (const auto& [key, value] : decoder.items()) {
        int64_t id = -1;
        try {
          size_t used = 0;
          id = std::stoll(key, &used);
          if (used != key.size() || id < 0) id = -1;
        } catch (const std::exception&) {
          id = -1;
        }
        if (id < 0)
          throw std::invalid_argument(where + ": key '" + key + "' is not a non-negative integer id");
        added_tokens[token_string(value, where + "[\"" + key + "\"]")] = id;
      }
    }
  };
  // transformers reads tokenizer_config.json first and lets special_tokens_map.json override it.
  read_specials(dir / "tokenizer_config.json");
  read_specials(dir / "special_tokens_map.json");
  return from_files_with_added(dir / "vocab.json", dir / "merges.txt", options, added_tokens);
}

std::vector<std::string> ClipTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  state_->run(text, &tokens, nullptr);
  return tokens;
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids;
  state_->run(text, nullptr, &ids);
  return ids;
}

ClipBatchEncoding ClipTokenizer::encode_batch(const std::vector<std::string>& texts,
                                              int64_t max_length) const {
  if (max_length < 2) {
    throw std::invalid_argument("CLIP tokenizer: max_length must be >= 2 (bos and eos), got " +
                                std::to_string(max_length));
  }
  const auto batch = static_cast<int64_t>(texts.size());
  torch::Tensor input_ids = torch::full({batch, max_length}, state_->pad_id, torch::kInt64);
  torch::Tensor attention_mask = torch::zeros({batch, max_length}, torch::kInt64);
  auto ids_acc = input_ids.accessor<int64_t, 2>();
  auto mask_acc = attention_mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> content;
    try {
      content = encode(texts[static_cast<size_t>(b)]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("CLIP tokenizer: prompt " + std::to_string(b) +
                                  " of the batch: " + e.what());
    }
    // Truncation keeps the first max_length - 2 content tokens; eos always follows.
    const auto kept = std::min<int64_t>(static_cast<int64_t>(content.size()), max_length - 2);
    ids_acc[b][0] = state_->bos_id;
    for (int64_t k = 0; k < kept; ++k) ids_acc[b][k + 1] = content[static_cast<size_t>(k)];
    ids_acc[b][kept + 1] = state_->eos_id;
    for (int64_t k = 0; k < kept + 2; ++k) mask_acc[b][k] = 1;
  }
  return {input_ids, attention_mask};
}

ClipBatchEncoding ClipTokenizer::encode_batch(const std::vector<std::string>& texts) const {
  return encode_batch(texts, state_->options.model_max_length);
}

int64_t ClipTokenizer::token_to_id(const std::string& token) const {
  return state_->lookup(token);
}

const std::string& ClipTokenizer::id_to_token(int64_t id) const {
  auto it = state_->tokens_by_id.find(id);
  if (it == state_->tokens_by_id.end()) {
    throw std::out_of_range("CLIP tokenizer: no token has id " + std::to_string(id));
  }
  return it->second;
}

int64_t ClipTokenizer::bos_id() const {
  return state_->bos_id;
}
int64_t ClipTokenizer::eos_id() const {
  return state_->eos_id;
}
int64_t ClipTokenizer::unk_id() const {
  return state_->unk_id;
}
int64_t ClipTokenizer::pad_id() const {
  return state_->pad_id;
}
int64_t ClipTokenizer::model_max_length() const {
  return state_->options.model_max_length;
}
int64_t ClipTokenizer::vocab_size() const {
  return static_cast<int64_t>(state_->vocab.size());
}
const ClipTokenizerOptions& ClipTokenizer::options() const {
  return state_->options;
}

}  // namespace flowgrpo::text
