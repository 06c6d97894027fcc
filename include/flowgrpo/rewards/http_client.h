#pragma once
/// @file http_client.h
/// A small blocking HTTP/1.1 client on libcurl for reward servers: JSON POSTs and GETs
/// with a per-request deadline. Network failures never throw; they come back as an
/// `HttpResponse` whose `outcome` says what went wrong, so the caller (RemoteReward)
/// decides what to retry.
///
/// Connection reuse: a client keeps a pool of libcurl easy handles attached to one
/// share handle that holds the connection and DNS caches, so consecutive requests to a
/// server reuse its keep-alive connection (and concurrent requests from several threads
/// each take their own handle but share the connections). One pool per client.
///
/// One POST, at most one request on the wire: when a reused keep-alive connection turns
/// out to be closed by the server, libcurl would silently resend the body on a new one;
/// post_json refuses that and reports kConnectionLost, so a caller's retry bound counts
/// every request the server sees. (GET, used for health checks, keeps libcurl's resend.)
///
/// Proxies: libcurl's usual environment variables (http_proxy, no_proxy, ...) apply.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace flowgrpo::rewards {

/// What became of one HTTP request.
enum class HttpOutcome {
  kResponse,        ///< The server answered (any status code).
  kConnectFailed,   ///< No connection: refused, unreachable, host not resolved, connect timeout.
  kTimeout,         ///< Connected but the whole request exceeded its deadline.
  kConnectionLost,  ///< The connection broke mid-request (reset, closed without a reply).
  kError,           ///< Anything else (bad URL, unsupported protocol, TLS failure); not transient.
};

/// "response", "connect failed", "timeout", "connection lost", "error".
std::string to_string(HttpOutcome outcome);

struct HttpResponse {
  HttpOutcome outcome = HttpOutcome::kError;
  long status = 0;  ///< HTTP status code when outcome == kResponse, else 0.
  std::string body;
  /// Response headers of the final response, names lowercased.
  std::map<std::string, std::string> headers;
  /// libcurl's description of a failed transfer ("" when outcome == kResponse).
  std::string error;

  /// An answer with a 2xx status.
  bool ok() const { return outcome == HttpOutcome::kResponse && status >= 200 && status < 300; }
  /// The header's value (name lowercase), if present.
  std::optional<std::string> header(const std::string& lowercase_name) const;
  /// One line for error messages: "HTTP 503: <start of body>" or "connect failed: <error>".
  std::string describe() const;
};

struct HttpRequestOptions {
  /// Deadline for the whole request (connect, send, wait, receive).
  std::chrono::milliseconds timeout{120000};
  /// Deadline for establishing the connection (part of `timeout`).
  std::chrono::milliseconds connect_timeout{10000};
};

class HttpClient {
 public:
  /// Throws std::runtime_error if libcurl cannot be initialised.
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// POSTs `json_body` with Content-Type application/json. Thread-safe.
  HttpResponse post_json(const std::string& url, const std::string& json_body,
                         const HttpRequestOptions& options = {});
  /// GETs `url`. Thread-safe.
  HttpResponse get(const std::string& url, const HttpRequestOptions& options = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowgrpo::rewards
