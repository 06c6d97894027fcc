#include "flowgrpo/rewards/ocr_score.h"

#include "flowgrpo/text/unicode.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace flowgrpo::rewards {

std::u32string utf8_to_code_points(std::string_view text) {
  return text::unicode::decode_utf8_lenient(text);
}

std::string code_points_to_utf8(const std::u32string& text) {
  return text::unicode::encode_utf8(text);
}

std::u32string normalize_ocr_text(std::string_view text) {
  // The reference: text.replace(" ", "").lower() — Python's full lower-case mapping.
  std::u32string kept;
  for (char32_t c : utf8_to_code_points(text))
    if (c != U' ') kept.push_back(c);
  return text::unicode::to_lower(kept);
}

std::string ocr_target(std::string_view prompt) {
  // prompt.split('"')[1]; without any quote the reference fails, we use the whole prompt.
  const size_t open = prompt.find('"');
  if (open == std::string_view::npos) return std::string(prompt);
  const size_t close = prompt.find('"', open + 1);
  return std::string(
      prompt.substr(open + 1, close == std::string_view::npos ? std::string_view::npos : close - open - 1));
}

std::size_t levenshtein_distance(const std::u32string& a, const std::u32string& b) {
  // Two-row dynamic programme over b; O(|a|·|b|) time, O(|b|) memory.
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<double> ocr_reward(std::string_view recognised, std::string_view prompt) {
  const std::u32string target = normalize_ocr_text(ocr_target(prompt));
  if (target.empty()) return std::nullopt;
  const std::u32string text = normalize_ocr_text(recognised);
  // flow_grpo/ocr.py: a substring match costs nothing; otherwise the edit distance,
  // capped at the target length so unrelated extra text costs at most "everything wrong".
  std::size_t distance = text.find(target) != std::u32string::npos ? 0 : levenshtein_distance(text, target);
  distance = std::min(distance, target.size());
  return 1.0 - static_cast<double>(distance) / static_cast<double>(target.size());
}

}  // namespace flowgrpo::rewards
