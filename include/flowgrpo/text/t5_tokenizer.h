#pragma once
/// @file t5_tokenizer.h
/// The T5 sentencepiece tokenizer of SD3's `tokenizer_3`, reproducing Hugging Face
/// transformers' (v4.40) slow `T5Tokenizer` as flow_grpo calls it:
/// `tokenizer(prompt, padding="max_length", max_length=128, truncation=True)`.
///
/// The pipeline is transformers' PreTrainedTokenizer.tokenize with T5's overrides:
///  1. the text is cut at every added token found verbatim in it (`</s>`, `<unk>`,
///     `<pad>`, `<extra_id_0>` ... `<extra_id_{extra_ids-1}>`; leftmost, longest
///     first; case-sensitive, before any normalisation), and each added token
///     becomes its id;
///  2. added tokens with lstrip / rstrip (the sentinels `<extra_id_N>` by default)
///     eat the whitespace next to them;
///  3. every other piece of text is encoded by sentencepiece (the model's own
///     normalisation, e.g. nmt_nfkc, whitespace collapse and the dummy "▁" prefix;
///     characters outside the vocabulary become the unk id);
///  4. `</s>` is appended unless the ids already end with it (T5's
///     `_add_eos_if_not_present`, so a prompt ending in a literal "</s>" has one eos).
///
/// Ids: the sentencepiece pieces keep their ids; `<extra_id_N>` is
/// `piece_count - 1 + extra_ids - N` (google's T5: 32099 - N); eos, unk and pad are
/// the ids of the pieces "</s>", "<unk>", "<pad>" when the model has them, otherwise
/// they are appended after the sentinels in that order (transformers' test model
/// has no "<pad>", which becomes 1100).
///
/// `legacy = false` (T5Tokenizer(legacy=False)) is supported too: sentencepiece then
/// runs without its dummy prefix, the text gets one leading "▁" (literal "▁" become
/// spaces) and a piece that starts with whitespace is encoded behind the unk token,
/// so that the text right after an added token gets no extra "▁" ("Hello
/// <extra_id_0>." ends in "." rather than "▁", "."). The default is legacy = true,
/// what T5Tokenizer(legacy=None) gives; from_directory() follows the folder's
/// tokenizer_config.json.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowgrpo::text {

/// Construction options; the defaults are transformers' T5Tokenizer defaults.
struct T5TokenizerOptions {
  std::string eos_token = "</s>";
  std::string unk_token = "<unk>";
  std::string pad_token = "<pad>";
  /// Number of sentinel tokens `<extra_id_0>` ... `<extra_id_{extra_ids-1}>` (>= 0).
  int64_t extra_ids = 100;
  /// transformers' `legacy` flag (see the file comment); true is T5Tokenizer's default.
  bool legacy = true;
  /// Whether the first word gets sentencepiece's dummy "▁" prefix. True for the slow
  /// T5Tokenizer; a fast tokenizer's `tokenizer.json` may say otherwise (its Metaspace
  /// pre-tokenizer's `prepend_scheme: "never"`, or `add_prefix_space: false`), and
  /// diffusers runs the fast tokenizer: from_directory() follows the file.
  bool add_dummy_prefix = true;
  /// Sequence length of encode_batch() without an explicit max_length (eos included).
  /// 512 is the length T5 was trained with (the usual tokenizer_config.json value);
  /// flow_grpo passes 128 explicitly.
  int64_t model_max_length = 512;
};

/// A padded batch, as T5Tokenizer(texts, padding="max_length", truncation=True) returns it.
struct T5BatchEncoding {
  torch::Tensor input_ids;       ///< [B, L] int64 on the CPU: [content..., eos, pad...]
  torch::Tensor attention_mask;  ///< [B, L] int64: 1 for content and eos, 0 for padding
  /// Per prompt, the length of encode(text) (eos included) before truncation; a prompt
  /// was cut iff its count exceeds L.
  std::vector<int64_t> num_tokens_untruncated;
};

/// Immutable after construction; every method is const and safe to call from
/// several threads at once (sentencepiece's Encode is const and keeps no state
/// between calls). Copies are cheap and share the loaded model.
class T5Tokenizer {
 public:
  /// Loads a sentencepiece model (`spiece.model`).
  /// @throws std::invalid_argument naming the file if it is missing, unreadable or
  ///         not a sentencepiece model (with sentencepiece's own message), or has no
  ///         pieces; also for options.extra_ids < 0, options.model_max_length < 2 or
  ///         an empty eos/unk/pad token.
  static T5Tokenizer from_file(const std::filesystem::path& spiece_model,
                               const T5TokenizerOptions& options = {});

  /// Reads a T5 tokenizer folder (a diffusers `tokenizer_3/`): `spiece.model`, and when
  /// present `tokenizer_config.json` for "model_max_length" (int(1e30), transformers'
  /// "no limit", keeps the default 512), "extra_ids", "legacy" (null means true),
  /// "eos_token" / "unk_token" / "pad_token" (strings or {"content": ...} objects) and
  /// "added_tokens_decoder" ({id: {"content", "lstrip", "rstrip", "special", ...}}),
  /// and when present `tokenizer.json`'s Metaspace pre-tokenizer for add_dummy_prefix,
  /// whose entries replace the default added tokens with the same id, as in
  /// transformers. "additional_special_tokens" and special_tokens_map.json are not
  /// read: the sentinels come from "extra_ids", and any other added token must be in
  /// "added_tokens_decoder" (where transformers >= 4.34 writes every added token).
  /// @throws std::invalid_argument as from_file, and naming tokenizer_config.json and
  ///         the key for invalid JSON, a value of the wrong type, an added token with
  ///         "single_word": true (not supported) or two added tokens with one content.
  static T5Tokenizer from_directory(const std::filesystem::path& dir);

  /// Token ids of `text` with eos appended (unless already last), untruncated and unpadded.
  /// @throws std::invalid_argument if `text` is not valid UTF-8 (naming the byte offset).
  /// @throws std::runtime_error if sentencepiece fails to encode (not expected for a loaded model).
  std::vector<int64_t> encode(std::string_view text) const;

  /// encode() of every text, truncated and padded to `max_length` exactly as
  /// T5Tokenizer does it: a sequence longer than max_length keeps its first
  /// max_length - 1 ids and gets eos appended (unless the kept ids already end with
  /// eos, in which case it stays one shorter and is padded); shorter ones are padded
  /// with pad_id(). The empty prompt is [eos, pad...].
  /// @throws std::invalid_argument for max_length < 2 or a text that is not valid
  ///         UTF-8 (naming its index in the batch).
  /// @throws std::runtime_error as encode().
  T5BatchEncoding encode_batch(const std::vector<std::string>& texts, int64_t max_length) const;
  /// encode_batch(texts, model_max_length()).
  T5BatchEncoding encode_batch(const std::vector<std::string>& texts) const;

  /// The id of `token`: an added token, else a sentencepiece piece; -1 if neither
  /// (where transformers would return the unk id).
  int64_t token_to_id(const std::string& token) const;
  /// The added token or sentencepiece piece with id `id`.
  /// @throws std::out_of_range if no token has that id.
  const std::string& id_to_token(int64_t id) const;

  int64_t eos_id() const;
  int64_t unk_id() const;
  int64_t pad_id() const;
  int64_t model_max_length() const;
  /// Number of sentencepiece pieces (32000 for google's T5).
  int64_t piece_count() const;
  /// Number of distinct tokens, pieces and added tokens together: `len(tokenizer)`
  /// in transformers (32100 for google's T5).
  int64_t vocab_size() const;
  const T5TokenizerOptions& options() const;

 private:
  struct State;
  explicit T5Tokenizer(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

}  // namespace flowgrpo::text
