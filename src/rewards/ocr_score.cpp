#include "flowgrpo/rewards/ocr_score.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace flowgrpo::rewards {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Unicode simple lowercase mapping for the scripts an English/European OCR model emits
// (UnicodeData.txt, field 13). Python's str.lower() covers all of Unicode; the ranges
// here are the ones PaddleOCR's Latin models can produce, plus Greek/Cyrillic/Armenian.
void append_lower(char32_t c, std::u32string& out) {
  if ((c >= U'A' && c <= U'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||  // ASCII, Latin-1
      (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||                           // Greek capitals
      (c >= 0x410 && c <= 0x42F) || (c >= 0xFF21 && c <= 0xFF3A)) {         // Cyrillic, fullwidth
    out.push_back(c + 0x20);
  } else if (c == 0x130) {  // İ: Python lowers it to "i" + combining dot above
    out.push_back(U'i');
    out.push_back(0x307);
  } else if ((c >= 0x100 && c <= 0x137 && c % 2 == 0) || (c >= 0x139 && c <= 0x148 && c % 2 == 1) ||
             (c >= 0x14A && c <= 0x177 && c % 2 == 0) || (c >= 0x179 && c <= 0x17E && c % 2 == 1) ||
             (c >= 0x460 && c <= 0x481 && c % 2 == 0) || (c >= 0x48A && c <= 0x4BF && c % 2 == 0) ||
             (c >= 0x4C1 && c <= 0x4CE && c % 2 == 1) || (c >= 0x4D0 && c <= 0x4FF && c % 2 == 0)) {
    out.push_back(c + 1);  // Latin Extended-A and Cyrillic supplement: upper/lower pairs
  } else if (c == 0x4C0) {
    out.push_back(0x4CF);  // Ӏ (palochka)
  } else if (c == 0x178) {
    out.push_back(0xFF);  // Ÿ -> ÿ
  } else if (c >= 0x400 && c <= 0x40F) {
    out.push_back(c + 0x50);  // Ѐ..Џ
  } else if (c == 0x386) {
    out.push_back(0x3AC);
  } else if (c >= 0x388 && c <= 0x38A) {
    out.push_back(c + 37);
  } else if (c == 0x38C) {
    out.push_back(0x3CC);
  } else if (c == 0x38E || c == 0x38F) {
    out.push_back(c + 63);
  } else if (c >= 0x531 && c <= 0x556) {
    out.push_back(c + 0x30);  // Armenian
  } else {
    out.push_back(c);
  }
}

}  // namespace

std::u32string utf8_to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b & 0xE0) == 0xC0)
      len = 2, cp = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0)
      len = 3, cp = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0)
      len = 4, cp = b & 0x07, min = 0x10000;
    if (len == 0) {  // stray continuation byte or 0xF8..0xFF
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    int k = 1;
    for (; k < len && i + k < n && (s[i + k] & 0xC0) == 0x80; ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    if (k < len) {  // truncated: replace what was consumed, resume at the offending byte
      out.push_back(kReplacement);
      i += k;
      continue;
    }
    out.push_back(cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? kReplacement : cp);
    i += len;
  }
  return out;
}

std::string code_points_to_utf8(const std::u32string& text) {
  std::string out;
  for (char32_t c : text) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::u32string normalize_ocr_text(std::string_view text) {
  std::u32string out;
  for (char32_t c : utf8_to_code_points(text))
    if (c != U' ') append_lower(c, out);
  return out;
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
