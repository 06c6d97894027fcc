#pragma once
/// @file progress_bar.h
/// A progress bar for long loops (sampling batches, training steps, evaluation).
/// On a terminal it redraws one line in place; when the stream is not a terminal
/// (CI, `tee`, Slurm logs) it degrades to plain lines at most every
/// `plain_interval_seconds` and at completion, so logs stay readable.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace flowgrpo::log {

class ProgressBar {
 public:
  enum class Mode { kAuto, kTerminal, kPlain, kSilent };

  struct Options {
    Mode mode = Mode::kAuto;  ///< kAuto: terminal if `stream` is a tty.
    std::FILE* stream = stderr;
    double plain_interval_seconds = 10.0;  ///< Plain mode: minimum seconds between lines.
    int width = 30;                        ///< Bar width in characters (terminal mode).
  };

  /// `total` may be 0 for an unknown length (then only counts are shown).
  ProgressBar(std::string description, int64_t total);
  ProgressBar(std::string description, int64_t total, Options options);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Advances by `n` steps and redraws if due.
  void advance(int64_t n = 1);
  /// Text shown after the counts, e.g. "reward=0.61 kl=3e-4".
  void set_postfix(std::string postfix);
  /// Draws the final state and ends the line; idempotent, also run by the destructor.
  void finish();

  int64_t count() const { return count_; }
  Mode mode() const { return mode_; }

  /// The line that would be printed now (without carriage return / newline).
  std::string render() const;

 private:
  void draw(bool final_line);

  std::string description_;
  int64_t total_;
  int64_t count_ = 0;
  Options options_;
  Mode mode_;
  std::string postfix_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace flowgrpo::log
