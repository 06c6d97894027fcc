#pragma once
// Private helper of the io area: formats lists of problems for the one-error-
// for-everything reports of WeightSource::open and load_state_dict.

#include <string>
#include <utility>
#include <vector>

namespace flowgrpo::io::detail {

/// "[a, b, c]", or "[a, ..., t, ... and 5 more]" past `limit` items, so a
/// report on a checkpoint with thousands of mismatches stays readable.
inline std::string bracketed_list(const std::vector<std::string>& items, size_t limit = 20) {
  std::string out = "[";
  for (size_t i = 0; i < items.size() && i < limit; ++i) {
    if (i) out += ", ";
    out += items[i];
  }
  if (items.size() > limit) out += ", ... and " + std::to_string(items.size() - limit) + " more";
  return out + "]";
}

/// Problems grouped by category, reported in insertion order of the categories.
class ProblemReport {
 public:
  void add(const std::string& category, std::string item) {
    for (auto& [name, items] : categories_) {
      if (name == category) {
        items.push_back(std::move(item));
        ++count_;
        return;
      }
    }
    categories_.push_back({category, {std::move(item)}});
    ++count_;
  }
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  /// "3 problems: missing in file: [a]; unexpected in file: [b, c]".
  std::string to_string() const {
    std::string out = std::to_string(count_) + (count_ == 1 ? " problem: " : " problems: ");
    for (size_t i = 0; i < categories_.size(); ++i) {
      if (i) out += "; ";
      out += categories_[i].first + ": " + bracketed_list(categories_[i].second);
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> categories_;
  size_t count_ = 0;
};

}  // namespace flowgrpo::io::detail
