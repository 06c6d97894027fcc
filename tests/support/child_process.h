#pragma once
/// @file child_process.h
/// A process a test starts and keeps running beside it (the ranks of a distributed
/// run): its output goes to a log file, and the test can wait for it with a timeout,
/// send it signals and read what it printed.

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace flowgrpo::testing {

class ChildProcess {
 public:
  /// Starts `command` (run by /bin/sh, in FLOWGRPO_SOURCE_DIR) with `env` added to this
  /// process's environment; stdout and stderr go to `log`.
  ChildProcess(const std::string& command, const std::map<std::string, std::string>& env,
               std::filesystem::path log);
  /// Kills the process if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  /// The exit status (128 + signal if killed), or nullopt if still running after `seconds`.
  std::optional<int> wait(double seconds);
  void signal(int sig) const;
  /// What it printed so far.
  std::string output() const;

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

/// Polls `predicate` every 50 ms for up to `seconds`; whether it became true.
template <class F>
bool eventually(double seconds, F&& predicate);

}  // namespace flowgrpo::testing

#include <chrono>
#include <thread>

template <class F>
bool flowgrpo::testing::eventually(double seconds, F&& predicate) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}
