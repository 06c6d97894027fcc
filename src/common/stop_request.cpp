#include "flowgrpo/common/stop_request.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

namespace flowgrpo {

namespace {

// Lock-free atomics are async-signal-safe.
std::atomic<int> g_signal{0};
std::atomic<bool> g_requested{false};
std::atomic<int64_t> g_first_ms{0};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free &&
              std::atomic<int64_t>::is_always_lock_free);

int64_t now_ms() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);  // async-signal-safe
  return static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}

// Signals within 2 s of the first count as one request: Ctrl-C under torchrun reaches
// a rank twice (from the terminal, then forwarded by the agent), and SIGINT may be
// followed by SIGTERM. A signal after that ends the process at once.
constexpr int64_t kSameRequestMs = 2000;

extern "C" void on_stop_signal(int sig) {
  if (!g_requested.load()) {
    g_first_ms.store(now_ms());
    g_signal.store(sig);
    g_requested.store(true);
    return;
  }
  if (now_ms() - g_first_ms.load() > kSameRequestMs) _exit(128 + sig);
}

void install(int sig) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a blocking read of a collective's socket resumes instead of failing
  // with EINTR.
  action.sa_flags = SA_RESTART;
  sigaction(sig, &action, nullptr);
}

}  // namespace

void install_stop_signal_handlers() {
  install(SIGTERM);
  install(SIGINT);
}

bool stop_requested() {
  return g_requested.load();
}

int stop_signal() {
  return g_signal.load();
}

void request_stop() {
  g_requested.store(true);
}

void clear_stop_request() {
  g_signal.store(0);
  g_requested.store(false);
}

}  // namespace flowgrpo
