#pragma once
/// @file http_url.h
/// Validation of a reward server's base URL when the reward is configured, so that a
/// typo fails at once with the reason instead of at the health check with a misleading
/// message ("Could not resolve host: health" for `http://`) or, with the health check
/// off, by masking every sample at run time.

#include <string>

namespace flowgrpo::rewards {

/// The parts of a valid base URL.
struct HttpUrl {
  std::string scheme;  ///< "http" or "https" (lowercased)
  std::string host;    ///< a name, an IPv4 address or a bracketed IPv6 address
  int port = 0;        ///< 1..65535, or 0 when the URL names none (the scheme's default)
  std::string path;    ///< "" or starting with '/'
};

/// Parses `scheme://host[:port][/path]` with scheme http or https (any case). Throws
/// std::invalid_argument saying what is wrong: another or no scheme, no host, a port that
/// is empty, not a number or outside 1-65535, a query or fragment (the reward appends
/// /score and /health), or a character that cannot appear in a URL (spaces, control
/// characters, non-ASCII bytes, "<>\"{}|\\^`).
HttpUrl parse_http_url(const std::string& url);

}  // namespace flowgrpo::rewards
