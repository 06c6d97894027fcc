#pragma once
/// @file unicode.h
/// The Unicode pieces the CLIP tokenizer needs, with the semantics of the Python
/// functions it mirrors (transformers' BasicTokenizer, Python's str methods and
/// the `regex` module). Character properties, NFC and lower-casing come from ICU
/// (libicuuc), so they follow ICU's Unicode version (ICU 72 = Unicode 15.0 on
/// Debian 12); Python's `unicodedata` may be older (3.11: Unicode 14.0), which
/// matters only for characters assigned in between.

#include <string>
#include <string_view>

namespace flowgrpo::text::unicode {

/// Decodes UTF-8 strictly (no overlong forms, surrogates or values above U+10FFFF).
/// @throws std::invalid_argument naming the byte offset of the first invalid sequence.
std::u32string decode_utf8(std::string_view utf8);

/// Decodes UTF-8 leniently, for text from outside (OCR engines, servers): every
/// invalid sequence (stray continuation byte, truncated, overlong or surrogate
/// form, value above U+10FFFF) becomes one U+FFFD.
std::u32string decode_utf8_lenient(std::string_view utf8);

/// Appends the UTF-8 encoding of `cp` (a valid scalar value) to `out`.
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view text);

/// General category L* (Lu, Ll, Lt, Lm, Lo): `\p{L}`.
bool is_letter(char32_t cp);
/// General category N* (Nd, Nl, No): `\p{N}`.
bool is_number(char32_t cp);
/// General category C* (Cc, Cf, Cs, Co, Cn): Python's `unicodedata.category(c).startswith("C")`;
/// unassigned code points (Cn) are included.
bool is_other(char32_t cp);
/// General category Zs.
bool is_space_separator(char32_t cp);
/// Python's `str.isspace`: category Zs or bidirectional class WS, B or S.
bool is_python_space(char32_t cp);
/// The `regex` module's `\s` (the White_Space property).
bool is_white_space(char32_t cp);
/// transformers' `_is_chinese_char`: the CJK Unified Ideographs blocks (not kana or hangul).
bool is_cjk_ideograph(char32_t cp);

/// Canonical composition (NFC), as `unicodedata.normalize("NFC", s)`.
std::u32string to_nfc(std::u32string_view text);
/// Full lower-case mapping with the root locale (SpecialCasing's unconditional
/// mappings and Final_Sigma), as Python's `str.lower()`.
std::u32string to_lower(std::u32string_view text);

}  // namespace flowgrpo::text::unicode
