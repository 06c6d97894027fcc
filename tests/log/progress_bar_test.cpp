#include "flowgrpo/log/progress_bar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressBar, PlainModeWhenNotATerminalPrintsWholeLinesOnly) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    flowgrpo::log::ProgressBar::Options o;
    o.stream = f;  // a file: not a terminal, so kAuto picks plain mode
    o.plain_interval_seconds = 0.0;
    flowgrpo::log::ProgressBar bar("sampling", 4, o);
    EXPECT_EQ(bar.mode(), flowgrpo::log::ProgressBar::Mode::kPlain);
    bar.set_postfix("reward=0.5");
    for (int i = 0; i < 4; ++i) bar.advance();
  }
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.find('\r'), std::string::npos) << "plain mode must not use carriage returns";
  EXPECT_NE(out.find("sampling 100% 4/4"), std::string::npos) << out;
  EXPECT_NE(out.find("reward=0.5"), std::string::npos) << out;
  EXPECT_NE(out.find(" 25% 1/4"), std::string::npos) << out;
}

TEST(ProgressBar, PlainModeRateLimitsIntermediateLines) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    flowgrpo::log::ProgressBar::Options o;
    o.stream = f;
    o.plain_interval_seconds = 3600.0;
    flowgrpo::log::ProgressBar bar("train", 1000, o);
    for (int i = 0; i < 1000; ++i) bar.advance();
  }
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out, std::string(out.substr(0, out.find('\n') + 1)));  // exactly one line
  EXPECT_NE(out.find("1000/1000"), std::string::npos) << out;
}

TEST(ProgressBar, TerminalModeRedrawsInPlace) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    flowgrpo::log::ProgressBar::Options o;
    o.stream = f;
    o.mode = flowgrpo::log::ProgressBar::Mode::kTerminal;
    flowgrpo::log::ProgressBar bar("eval", 2, o);
    bar.advance(2);
  }
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(out.front(), '\r');
  EXPECT_EQ(out.back(), '\n');
  EXPECT_NE(out.find("|##############################|"), std::string::npos) << out;
}

}  // namespace
