#pragma once
/// @file word_tokenizer.h
/// A word-level tokenizer with a closed vocabulary, for small task-specific text
/// encoders such as the ShapesEval one. Prompts are lower-cased and split on
/// whitespace; every word must be in the vocabulary: an out-of-vocabulary word is
/// an error, never a silent unknown token. Layout of the ids, like CLIP's:
/// [<bos>, w1, ..., wn, <eos>, <pad>, ...] padded to max_length; the empty
/// prompt (the unconditional input of classifier-free guidance) is [<bos>, <eos>, <pad>...].

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace flowgrpo::shapes {

class WordTokenizer {
 public:
  static constexpr const char* kPad = "<pad>";
  static constexpr const char* kBos = "<bos>";
  static constexpr const char* kEos = "<eos>";

  /// `words`: the vocabulary without special tokens (lower-case, no spaces, no duplicates).
  /// `max_length`: total sequence length including <bos> and <eos>.
  /// @throws std::invalid_argument for duplicates, empty or non-lower-case words, max_length < 2.
  WordTokenizer(std::vector<std::string> words, int64_t max_length);

  /// Reads `vocab.json` = {"words": [...], "max_length": L} (a tokenizer folder or the file).
  /// @throws std::invalid_argument naming the file and what is wrong.
  static WordTokenizer from_file(const std::filesystem::path& path);
  /// Writes vocab.json into `dir` (creating it).
  void save(const std::filesystem::path& dir) const;

  /// Token ids [B, max_length] int64.
  /// @throws std::invalid_argument naming the prompt and the word for an
  ///         out-of-vocabulary word, or a prompt longer than max_length − 2 words.
  torch::Tensor encode(const std::vector<std::string>& prompts) const;
  /// Index of <eos> in each row of `ids` [B] (the pooled position).
  torch::Tensor eos_positions(const torch::Tensor& ids) const;

  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t max_length() const { return max_length_; }
  int64_t pad_id() const { return 0; }
  int64_t bos_id() const { return 1; }
  int64_t eos_id() const { return 2; }
  const std::vector<std::string>& words() const { return words_; }

 private:
  std::vector<std::string> words_;
  std::vector<std::string> tokens_;  // specials first, then words_
  std::map<std::string, int64_t> ids_;
  int64_t max_length_;
};

}  // namespace flowgrpo::shapes
