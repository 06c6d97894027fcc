#include "flowgrpo/text/unicode.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::text::unicode {
namespace {

icu::UnicodeString to_icu(std::u32string_view text) {
  // Copy rather than reinterpret: char32_t and UChar32 (int32_t) are distinct types.
  std::vector<UChar32> buffer(text.begin(), text.end());
  return icu::UnicodeString::fromUTF32(buffer.data(), static_cast<int32_t>(buffer.size()));
}

std::u32string from_icu(const icu::UnicodeString& text, const char* what) {
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length = text.toUTF32(nullptr, 0, status);  // preflight: the needed capacity
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    throw std::runtime_error(std::string("unicode: ") + what +
                             ": UTF-32 conversion failed: " + u_errorName(status));
  }
  std::vector<UChar32> buffer(static_cast<size_t>(length));
  status = U_ZERO_ERROR;
  text.toUTF32(buffer.data(), length, status);
  if (U_FAILURE(status) && status != U_STRING_NOT_TERMINATED_WARNING) {
    throw std::runtime_error(std::string("unicode: ") + what +
                             ": UTF-32 conversion failed: " + u_errorName(status));
  }
  return std::u32string(buffer.begin(), buffer.end());
}

bool has_category(char32_t cp, uint32_t mask) {
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & mask) != 0;
}

}  // namespace

std::u32string decode_utf8(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  size_t i = 0;
  const auto fail = [&](size_t offset) {
    throw std::invalid_argument("invalid UTF-8 at byte " + std::to_string(offset) + " of a " +
                                std::to_string(utf8.size()) + "-byte string");
  };
  while (i < utf8.size()) {
    const auto b0 = static_cast<unsigned char>(utf8[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    size_t length = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      length = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      length = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      length = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      fail(i);
    }
    if (i + length > utf8.size()) fail(i);
    for (size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(utf8[i + k]);
      if ((b & 0xC0) != 0x80) fail(i);
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail(i);
    out.push_back(cp);
    i += length;
  }
  return out;
}

std::u32string decode_utf8_lenient(std::string_view text) {
  constexpr char32_t kReplacement = 0xFFFD;
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

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

bool is_letter(char32_t cp) {
  return has_category(cp, U_GC_L_MASK);
}
bool is_number(char32_t cp) {
  return has_category(cp, U_GC_N_MASK);
}
bool is_other(char32_t cp) {
  return has_category(cp, U_GC_C_MASK);
}
bool is_space_separator(char32_t cp) {
  return has_category(cp, U_GC_ZS_MASK);
}

bool is_python_space(char32_t cp) {
  if (is_space_separator(cp)) return true;
  const UCharDirection direction = u_charDirection(static_cast<UChar32>(cp));
  return direction == U_WHITE_SPACE_NEUTRAL || direction == U_BLOCK_SEPARATOR ||
         direction == U_SEGMENT_SEPARATOR;
}

bool is_white_space(char32_t cp) {
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE) != 0;
}

bool is_cjk_ideograph(char32_t cp) {
  // The exact ranges of transformers' BasicTokenizer._is_chinese_char.
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::u32string to_nfc(std::u32string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("unicode: cannot load ICU's NFC data: ") + u_errorName(status));
  }
  const icu::UnicodeString normalized = nfc->normalize(to_icu(text), status);
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("unicode: NFC normalisation failed: ") + u_errorName(status));
  }
  return from_icu(normalized, "NFC");
}

std::u32string to_lower(std::u32string_view text) {
  icu::UnicodeString s = to_icu(text);
  s.toLower(icu::Locale::getRoot());
  return from_icu(s, "lower-case");
}

}  // namespace flowgrpo::text::unicode
