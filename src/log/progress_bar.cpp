#include "flowgrpo/log/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace flowgrpo::log {

namespace {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::string description, int64_t total)
    : ProgressBar(std::move(description), total, Options{}) {}

ProgressBar::ProgressBar(std::string description, int64_t total, Options options)
    : description_(std::move(description)),
      total_(std::max<int64_t>(total, 0)),
      options_(options),
      mode_(options.mode),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (mode_ == Mode::kAuto)
    mode_ = (options_.stream != nullptr && isatty(fileno(options_.stream))) ? Mode::kTerminal : Mode::kPlain;
  if (options_.stream == nullptr) mode_ = Mode::kSilent;
  if (mode_ == Mode::kTerminal) draw(false);
}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::set_postfix(std::string postfix) {
  postfix_ = std::move(postfix);
}

void ProgressBar::advance(int64_t n) {
  if (finished_) return;
  count_ += n;
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (mode_ == Mode::kTerminal && since_draw >= 0.1) draw(false);
  if (mode_ == Mode::kPlain && since_draw >= options_.plain_interval_seconds && count_ < total_) draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

std::string ProgressBar::render() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = description_;
  if (total_ > 0) {
    const double frac = std::min(1.0, static_cast<double>(count_) / static_cast<double>(total_));
    char pct[16];
    std::snprintf(pct, sizeof pct, " %3d%%", static_cast<int>(frac * 100.0));
    line += pct;
    if (mode_ == Mode::kTerminal) {
      const int filled = static_cast<int>(frac * options_.width);
      line += " |" + std::string(filled, '#') + std::string(options_.width - filled, ' ') + "|";
    }
    line += " " + std::to_string(count_) + "/" + std::to_string(total_);
    const double eta = count_ > 0 ? elapsed / count_ * (total_ - count_) : NAN;
    line += " [" + format_duration(elapsed) + "<" + format_duration(eta) + "]";
  } else {
    line += " " + std::to_string(count_) + " [" + format_duration(elapsed) + "]";
  }
  if (!postfix_.empty()) line += " " + postfix_;
  return line;
}

void ProgressBar::draw(bool final_line) {
  last_draw_ = std::chrono::steady_clock::now();
  if (mode_ == Mode::kSilent) return;
  const std::string line = render();
  if (mode_ == Mode::kTerminal) {
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(options_.stream, "\r%s\x1b[K%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(options_.stream, "%s\n", line.c_str());
  }
  std::fflush(options_.stream);
}

}  // namespace flowgrpo::log
