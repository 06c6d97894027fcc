#include "flowgrpo/common/stop_request.h"

#include <signal.h>
#include <atomic>

namespace flowgrpo {

namespace {

// Lock-free atomics are async-signal-safe.
std::atomic<int> g_signal{0};
std::atomic<bool> g_requested{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) {
  g_signal.store(sig);
  g_requested.store(true);
}

void install(int sig) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a blocking read of a collective's socket resumes instead of failing
  // with EINTR; SA_RESETHAND: a second signal takes the default action (ends the process).
  action.sa_flags = SA_RESTART | SA_RESETHAND;
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
