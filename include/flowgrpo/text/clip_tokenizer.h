#pragma once
/// @file clip_tokenizer.h
/// CLIP's byte-level BPE tokenizer, reproducing Hugging Face transformers'
/// (v4.40) slow `CLIPTokenizer` as SD3/SD3.5 call it:
/// `tokenizer(prompt, padding="max_length", max_length=77, truncation=True)`.
///
/// Text normalisation follows the path transformers takes when the `ftfy`
/// package is NOT installed (flow_grpo's declared environment has no ftfy):
/// BasicTokenizer(do_lower_case, strip_accents=False, no punctuation split), i.e.
///  1. drop NUL, U+FFFD and every category-C character except \t \n \r (so
///     zero-width spaces and joiners vanish); map \t \n \r and Zs to a space;
///  2. put spaces around CJK ideographs;
///  3. NFC;
///  4. split on whitespace, lower-case each word (full Unicode mapping).
/// No HTML unescaping and no ftfy repairs (curly quotes, ligatures, full-width
/// forms stay as they are): with ftfy installed transformers would tokenize
/// such prompts differently; see docs/models.md.
///
/// Each word is then split by the pre-tokenisation regex
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (case-insensitive), every piece is mapped byte by byte to GPT-2's
/// byte-to-unicode alphabet and merged by BPE rank, with `</w>` on its last symbol.
/// Special tokens (bos, eos, unk, pad and any additional ones) found verbatim in
/// the text are cut out first and map to their ids, as transformers' added-token
/// trie does; so with pad token "!" (SD3's `tokenizer_2`) a literal "!" is id 0.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowgrpo::text {

/// Special tokens and lengths. The defaults are SD3's `tokenizer` (CLIP-L);
/// SD3's `tokenizer_2` (CLIP-G) differs only in `pad_token = "!"`.
struct ClipTokenizerOptions {
  std::string bos_token = "<|startoftext|>";
  std::string eos_token = "<|endoftext|>";
  std::string unk_token = "<|endoftext|>";
  std::string pad_token = "<|endoftext|>";
  /// Sequence length of encode_batch() without an explicit max_length (bos and eos included).
  int64_t model_max_length = 77;
  /// Further strings cut out of the text verbatim and mapped to their vocabulary ids.
  std::vector<std::string> additional_special_tokens;
};

/// A padded batch: both [B, L] int64 on the CPU.
struct ClipBatchEncoding {
  torch::Tensor input_ids;       ///< [bos, content..., eos, pad...]
  torch::Tensor attention_mask;  ///< 1 for bos, content and eos; 0 for padding
};

/// Immutable after construction; every method is const and safe to call from
/// several threads (the BPE cache is internally locked). Copies share state.
class ClipTokenizer {
 public:
  /// Reads a Hugging Face `vocab.json` ({token: id}) and `merges.txt`
  /// ("#version" header line, then one "first second" merge per line, the
  /// earlier the higher the priority). As transformers does, only the first
  /// 49152 - 256 - 2 = 48894 merges are used (exactly what CLIP's files hold).
  /// @throws std::invalid_argument naming the file (and line or token) if a file
  ///         is missing or unreadable, vocab.json is not a JSON object of
  ///         non-negative integer ids, two tokens share an id, the merges header
  ///         is missing, a merges line is not two symbols, or a special token is
  ///         not in the vocabulary; also if options.model_max_length < 2.
  static ClipTokenizer from_files(const std::filesystem::path& vocab_json,
                                  const std::filesystem::path& merges_txt,
                                  const ClipTokenizerOptions& options = {});

  /// Reads a Hugging Face tokenizer folder (SD3.5's `tokenizer/`, `tokenizer_2/`):
  /// vocab.json and merges.txt, and when present tokenizer_config.json and then
  /// special_tokens_map.json (which wins, as in transformers) for bos/eos/unk/pad
  /// (strings or {"content": ...} objects), additional_special_tokens,
  /// model_max_length and the special entries of added_tokens_decoder.
  /// @throws std::invalid_argument as from_files, and naming the JSON file and key
  ///         for a malformed config, or an added token with lstrip/rstrip/single_word
  ///         set (not supported) or an id that disagrees with vocab.json.
  static ClipTokenizer from_directory(const std::filesystem::path& dir);

  /// BPE tokens of `text` (e.g. "photo</w>"), untruncated, without bos/eos.
  /// @throws std::invalid_argument if `text` is not valid UTF-8.
  std::vector<std::string> tokenize(std::string_view text) const;
  /// Token ids of `text`, untruncated, without bos/eos (unknown tokens, which
  /// CLIP's byte-level vocabulary never produces, would map to unk).
  /// @throws std::invalid_argument if `text` is not valid UTF-8.
  std::vector<int64_t> encode(std::string_view text) const;

  /// [bos, first max_length - 2 content ids, eos] padded with pad_id() to
  /// `max_length`, and the matching attention mask, for every text.
  /// @throws std::invalid_argument for max_length < 2 or a text that is not
  ///         valid UTF-8 (naming its index in the batch).
  ClipBatchEncoding encode_batch(const std::vector<std::string>& texts, int64_t max_length) const;
  /// encode_batch(texts, model_max_length()).
  ClipBatchEncoding encode_batch(const std::vector<std::string>& texts) const;

  /// The id of `token` (special tokens first, then the vocabulary), or -1 if absent.
  int64_t token_to_id(const std::string& token) const;
  /// The token with id `id`.
  /// @throws std::out_of_range if no token has that id.
  const std::string& id_to_token(int64_t id) const;

  int64_t bos_id() const;
  int64_t eos_id() const;
  int64_t unk_id() const;
  int64_t pad_id() const;
  int64_t model_max_length() const;
  /// Number of vocabulary entries (49408 for CLIP).
  int64_t vocab_size() const;
  const ClipTokenizerOptions& options() const;

 private:
  struct State;
  explicit ClipTokenizer(std::shared_ptr<State> state);
  /// from_files plus the added tokens of a tokenizer folder (content -> id).
  static ClipTokenizer from_files_with_added(const std::filesystem::path& vocab_json,
                                             const std::filesystem::path& merges_txt,
                                             const ClipTokenizerOptions& options,
                                             const std::map<std::string, int64_t>& added_tokens);
  std::shared_ptr<State> state_;
};

}  // namespace flowgrpo::text
