#pragma once
// Small text helpers shared by the loader, the dump and the validator.

#include <string>
#include <string_view>
#include <vector>

namespace flowgrpo::config::detail {

/// Shortest text that parses back to exactly `value`, always recognisable as a
/// floating-point number in YAML 1.1 and 1.2: "0.7", "1.0", "3.0e-4", ".inf", ".nan".
std::string format_double(double value);

/// Like format_double, but whole numbers print without ".0" ("2", "0.7", "1.0e-4"):
/// for messages.
std::string format_number(double value);

/// "a, b, c"
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

/// Lower-cases ASCII letters.
std::string to_lower(std::string_view text);

/// The candidate closest to `word` by edit distance if it is close enough to be a
/// plausible typo, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace flowgrpo::config::detail
