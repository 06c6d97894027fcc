#include "flowgrpo/rewards/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace flowgrpo::rewards {

namespace {

// curl_global_init is not thread-safe and must run once per process before any handle.
void global_init() {
  static std::once_flag once;
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK)
    throw std::runtime_error(std::string("libcurl initialisation failed: ") + curl_easy_strerror(code));
}

HttpOutcome classify(CURLcode code) {
  switch (code) {
    case CURLE_OK: return HttpOutcome::kResponse;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return HttpOutcome::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT: return HttpOutcome::kTimeout;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_FAIL_REWIND:  // a dropped keep-alive connection we refused to resend on (Upload)
    case CURLE_PARTIAL_FILE: return HttpOutcome::kConnectionLost;
    default: return HttpOutcome::kError;
  }
}

// The request body, handed to libcurl through a read callback rather than
// CURLOPT_POSTFIELDS. With POSTFIELDS libcurl silently sends the request again when a
// reused keep-alive connection turns out to be dead (~2 ms later, no backoff), so a
// server could see more requests than max_retries + 1 allows. A read callback without
// a seek callback cannot be rewound: libcurl fails with CURLE_SEND_FAIL_REWIND instead,
// and our retry policy (RemoteReward) decides, counting the attempt.
struct Upload {
  const std::string* body;
  size_t offset = 0;
};

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto& upload = *static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload.body->size() - upload.offset);
  std::memcpy(buffer, upload.body->data() + upload.offset, n);
  upload.offset += n;
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
  const std::string line(data, size * count);
  // A status line starts a new response (after a redirect or a 1xx): forget earlier headers.
  if (line.rfind("HTTP/", 0) == 0) {
    headers.clear();
    return size * count;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return size * count;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto value = line.substr(colon + 1);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t\r\n");
  headers[name] = first == std::string::npos ? "" : value.substr(first, last - first + 1);
  return size * count;
}

}  // namespace

std::string to_string(HttpOutcome outcome) {
  switch (outcome) {
    case HttpOutcome::kResponse: return "response";
    case HttpOutcome::kConnectFailed: return "connect failed";
    case HttpOutcome::kTimeout: return "timeout";
    case HttpOutcome::kConnectionLost: return "connection lost";
    case HttpOutcome::kError: return "error";
  }
  return "error";
}

std::optional<std::string> HttpResponse::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string HttpResponse::describe() const {
  if (outcome != HttpOutcome::kResponse) return to_string(outcome) + ": " + error;
  std::string text = "HTTP " + std::to_string(status);
  if (!body.empty()) {
    std::string snippet = body.substr(0, 200);
    std::replace(snippet.begin(), snippet.end(), '\n', ' ');
    text += ": " + snippet + (body.size() > 200 ? "..." : "");
  }
  return text;
}

struct HttpClient::Impl {
  CURLSH* share = nullptr;
  // One mutex per kind of shared data (libcurl locks them independently).
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks;
  std::mutex pool_mutex;
  std::vector<CURL*> idle;  // easy handles not in use; each keeps its own connection too

  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->share_locks.at(static_cast<size_t>(data)).lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->share_locks.at(static_cast<size_t>(data)).unlock();
  }

  CURL* acquire() {
    {
      std::lock_guard<std::mutex> guard(pool_mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    CURL* handle = curl_easy_init();
    if (!handle) throw std::runtime_error("libcurl: curl_easy_init failed");
    return handle;
  }
  void release(CURL* handle) {
    std::lock_guard<std::mutex> guard(pool_mutex);
    idle.push_back(handle);
  }

  HttpResponse perform(const std::string& url, const std::string* post_body, const HttpRequestOptions& o);
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->share = curl_share_init();
  if (!impl_->share) throw std::runtime_error("libcurl: curl_share_init failed");
  curl_share_setopt(impl_->share, CURLSHOPT_LOCKFUNC, &Impl::lock);
  curl_share_setopt(impl_->share, CURLSHOPT_UNLOCKFUNC, &Impl::unlock);
  curl_share_setopt(impl_->share, CURLSHOPT_USERDATA, impl_.get());
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(impl_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

HttpClient::~HttpClient() {
  // Easy handles first: a share handle cannot be cleaned up while handles use it.
  for (CURL* handle : impl_->idle) curl_easy_cleanup(handle);
  impl_->idle.clear();
  if (impl_->share) curl_share_cleanup(impl_->share);
}

HttpResponse HttpClient::Impl::perform(const std::string& url, const std::string* post_body,
                                       const HttpRequestOptions& o) {
  CURL* handle = acquire();
  // Reset clears the options of the previous request but keeps live connections.
  curl_easy_reset(handle);
  HttpResponse response;
  Upload upload{post_body};
  curl_slist* headers = nullptr;
  curl_easy_setopt(handle, CURLOPT_SHARE, share);
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we run on worker threads
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, o.timeout.count())));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, o.connect_timeout.count())));
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "flowgrpo-remote-reward/1");
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
  if (post_body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    // Without this libcurl waits up to 1 s for "100 Continue" before sending large bodies.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  } else {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode code = curl_easy_perform(handle);
  response.outcome = classify(code);
  if (code == CURLE_OK) {
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    if (code == CURLE_SEND_FAIL_REWIND)
      response.error = "the server closed the reused keep-alive connection without answering (" +
                       response.error + "; not resent behind the retry policy's back)";
    response.body.clear();
    response.headers.clear();
  }
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(headers);
  release(handle);
  return response;
}

HttpResponse HttpClient::post_json(const std::string& url, const std::string& json_body,
                                   const HttpRequestOptions& options) {
  return impl_->perform(url, &json_body, options);
}

HttpResponse HttpClient::get(const std::string& url, const HttpRequestOptions& options) {
  return impl_->perform(url, nullptr, options);
}

}  // namespace flowgrpo::rewards
