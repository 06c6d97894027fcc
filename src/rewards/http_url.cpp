#include "flowgrpo/rewards/http_url.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace flowgrpo::rewards {

namespace {

// RFC 3986 unreserved, sub-delims, gen-delims and '%' (for escapes): everything else
// must be percent-encoded, and libcurl would either refuse it or send it mangled.
bool url_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  static const std::string allowed = "-._~!$&'()*+,;=:/?#[]@%";
  return allowed.find(static_cast<char>(c)) != std::string::npos;
}

std::string describe_char(unsigned char c) {
  if (c == ' ') return "a space";
  char buf[16];
  if (c < 0x20 || c >= 0x7f)
    std::snprintf(buf, sizeof(buf), "byte 0x%02X", c);
  else
    std::snprintf(buf, sizeof(buf), "'%c'", c);
  return buf;
}

}  // namespace

HttpUrl parse_http_url(const std::string& url) {
  for (size_t i = 0; i < url.size(); ++i) {
    const auto c = static_cast<unsigned char>(url[i]);
    if (!url_char(c))
      throw std::invalid_argument(describe_char(c) + " at position " + std::to_string(i) +
                                  " cannot appear in a URL (percent-encode it)");
  }
  const auto sep = url.find("://");
  if (sep == std::string::npos)
    throw std::invalid_argument("expected http://HOST[:PORT][/PATH] or https://...");
  HttpUrl out;
  out.scheme = url.substr(0, sep);
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.scheme != "http" && out.scheme != "https")
    throw std::invalid_argument("the scheme must be http:// or https://, found '" + url.substr(0, sep) + "://'");
  const std::string rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string::npos)
    throw std::invalid_argument("a base URL has no query or fragment (the reward appends /score and /health)");
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string::npos)
    throw std::invalid_argument("user information ('user@host') is not supported");
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw std::invalid_argument("an IPv6 address lacks its closing ']'");
    out.host = authority.substr(0, close + 1);
    if (out.host.size() == 2 ||
        out.host.find_first_not_of("0123456789abcdefABCDEF:.", 1) != out.host.size() - 1)
      throw std::invalid_argument("'" + out.host + "' is not an IPv6 address");
    const std::string after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      throw std::invalid_argument("unexpected '" + after + "' after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) throw std::invalid_argument("the port after ':' is empty");
  } else {
    const auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) throw std::invalid_argument("the port after ':' is empty");
    }
    if (out.host.empty()) throw std::invalid_argument("no host (expected http://HOST[:PORT])");
    for (unsigned char c : out.host)
      if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%'))
        throw std::invalid_argument("host '" + out.host + "' contains " + describe_char(c));
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("port '" + port + "' is not a number in 1-65535");
    out.port = std::stoi(port);
    if (out.port < 1 || out.port > 65535)
      throw std::invalid_argument("port " + port + " is outside 1-65535");
  }
  return out;
}

}  // namespace flowgrpo::rewards
