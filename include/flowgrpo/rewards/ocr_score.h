#pragma once
/// @file ocr_score.h
/// The OCR reward's formula (flow_grpo/ocr.py), separate from the OCR model: the model
/// (a PaddleOCR server, scripts/reward_servers/ocr_server.py) only recognises text; the
/// reward is computed here from the recognised text and the prompt.
///
///   target     = text between the first pair of double quotes of the prompt
///                (prompt.split('"')[1]: up to the end if the quote is never closed;
///                the whole prompt when it has no quote at all — the reference raises
///                an IndexError there), spaces removed, lowercased;
///   recognised = the OCR text, spaces removed, lowercased;
///   distance   = 0 if target is a substring of recognised, else Levenshtein(recognised, target),
///                capped at len(target) ("recognised many unrelated characters: one penalty");
///   reward     = 1 − distance / len(target)   ∈ [0, 1]   ([P] max(1 − Ne/Nref, 0)).
///
/// Lengths and edit distances count Unicode code points (the reference works on Python
/// str), never UTF-8 bytes. An empty target (prompt `""`, or only spaces between the
/// quotes) has no defined reward — the reference divides by zero — so the sample is
/// reported as unscorable (std::nullopt) and the reward invalidates it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flowgrpo::rewards {

/// Decodes UTF-8 into code points. Malformed sequences (stray continuation bytes,
/// truncated or overlong sequences, surrogates, values above U+10FFFF) each become
/// U+FFFD, as Python's `errors="replace"` does, so any byte string can be scored.
std::u32string utf8_to_code_points(std::string_view text);
/// Encodes code points as UTF-8 (for messages and tests).
std::string code_points_to_utf8(const std::u32string& text);

/// The reference's normalisation `text.replace(' ', '').lower()`: removes U+0020 only
/// (not tabs or other spaces, as the reference) and lowercases with Unicode simple case
/// mapping for Latin (ASCII, Latin-1, Latin Extended-A), Greek, Cyrillic, Armenian and
/// fullwidth Latin letters, plus U+0130 → "i̇" as Python; code points of other scripts
/// (which mostly have no case) are kept. Python's context-dependent final-sigma rule is
/// not applied (Σ always maps to σ).
std::u32string normalize_ocr_text(std::string_view text);

/// The text the image should show: prompt.split('"')[1] (see above), not yet normalised.
std::string ocr_target(std::string_view prompt);

/// Levenshtein distance (unit-cost insert, delete, substitute) between code-point strings.
std::size_t levenshtein_distance(const std::u32string& a, const std::u32string& b);

/// The OCR reward of `recognised` text for `prompt` (formula above), or std::nullopt when
/// the normalised target is empty.
std::optional<double> ocr_reward(std::string_view recognised, std::string_view prompt);

}  // namespace flowgrpo::rewards
