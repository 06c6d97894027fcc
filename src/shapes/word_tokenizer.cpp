#include "flowgrpo/shapes/word_tokenizer.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::shapes {

WordTokenizer::WordTokenizer(std::vector<std::string> words, int64_t max_length)
    : words_(std::move(words)), max_length_(max_length) {
  if (max_length_ < 2)
    throw std::invalid_argument("tokenizer: max_length must be >= 2 (room for <bos> and <eos>)");
  tokens_ = {kPad, kBos, kEos};
  for (const auto& w : words_) {
    if (w.empty()) throw std::invalid_argument("tokenizer: empty word in the vocabulary");
    for (unsigned char c : w)
      if (std::isspace(c) || std::isupper(c))
        throw std::invalid_argument("tokenizer: vocabulary word '" + w +
                                    "' must be lower-case without spaces");
    tokens_.push_back(w);
  }
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (!ids_.emplace(tokens_[i], static_cast<int64_t>(i)).second)
      throw std::invalid_argument("tokenizer: duplicate vocabulary entry '" + tokens_[i] + "'");
}

WordTokenizer WordTokenizer::from_file(const std::filesystem::path& path) {
  const auto file = std::filesystem::is_directory(path) ? path / "vocab.json" : path;
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("tokenizer " + file.string() + ": cannot open file");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("tokenizer " + file.string() + ": invalid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("words") || !j["words"].is_array() || !j.contains("max_length") ||
      !j["max_length"].is_number_integer())
    throw std::invalid_argument("tokenizer " + file.string() +
                                ": expected {\"words\": [strings], \"max_length\": integer}");
  std::vector<std::string> words;
  for (const auto& w : j["words"]) {
    if (!w.is_string())
      throw std::invalid_argument("tokenizer " + file.string() + ": every word must be a string");
    words.push_back(w.get<std::string>());
  }
  try {
    return WordTokenizer(std::move(words), j["max_length"].get<int64_t>());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(file.string() + ": " + e.what());
  }
}

void WordTokenizer::save(const std::filesystem::path& dir) const {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / "vocab.json");
  out << nlohmann::json{{"words", words_}, {"max_length", max_length_}}.dump(
             1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
  if (!out) throw std::runtime_error("could not write " + (dir / "vocab.json").string());
}

torch::Tensor WordTokenizer::encode(const std::vector<std::string>& prompts) const {
  auto ids = torch::full({static_cast<int64_t>(prompts.size()), max_length_}, pad_id(), torch::kLong);
  auto acc = ids.accessor<int64_t, 2>();
  for (size_t b = 0; b < prompts.size(); ++b) {
    std::istringstream words(prompts[b]);
    std::vector<int64_t> row{bos_id()};
    std::string word;
    while (words >> word) {
      for (auto& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = ids_.find(word);
      if (it == ids_.end() || it->second <= eos_id())
        throw std::invalid_argument("prompt '" + prompts[b] + "': word '" + word +
                                    "' is not in the text encoder's vocabulary");
      row.push_back(it->second);
    }
    row.push_back(eos_id());
    if (static_cast<int64_t>(row.size()) > max_length_)
      throw std::invalid_argument("prompt '" + prompts[b] + "': " + std::to_string(row.size() - 2) +
                                  " words, more than the " + std::to_string(max_length_ - 2) +
                                  " the text encoder takes");
    for (size_t i = 0; i < row.size(); ++i) acc[static_cast<int64_t>(b)][static_cast<int64_t>(i)] = row[i];
  }
  return ids;
}

torch::Tensor WordTokenizer::eos_positions(const torch::Tensor& ids) const {
  return (ids == eos_id()).to(torch::kLong).argmax(1);
}

}  // namespace flowgrpo::shapes
