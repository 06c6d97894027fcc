#include "flowgrpo/log/logging.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace fl = flowgrpo::log;

TEST(Logging, ParsesLevelsCaseInsensitively) {
  EXPECT_EQ(fl::parse_level("DEBUG"), fl::Level::kDebug);
  EXPECT_EQ(fl::parse_level("warning"), fl::Level::kWarn);
  for (auto l : {fl::Level::kTrace, fl::Level::kInfo, fl::Level::kError, fl::Level::kOff})
    EXPECT_EQ(fl::parse_level(fl::to_string(l)), l);
}

TEST(Logging, UnknownLevelListsValidOnes) {
  try {
    fl::parse_level("loud");
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'loud'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("trace, debug, info, warn, error, off"), std::string::npos);
  }
}

TEST(Logging, EnvironmentOverridesConfiguredLevel) {
  ::setenv(fl::kLevelEnvironmentVariable, "error", 1);
  fl::configure({fl::Level::kDebug, 0, 1, false});
  EXPECT_EQ(fl::effective_level(), fl::Level::kError);
  EXPECT_EQ(fl::get("test")->level(), spdlog::level::err);
  ::setenv(fl::kLevelEnvironmentVariable, "nonsense", 1);
  EXPECT_THROW(fl::configure({fl::Level::kDebug, 0, 1, false}), std::invalid_argument);
  ::unsetenv(fl::kLevelEnvironmentVariable);
  fl::configure({fl::Level::kDebug, 0, 1, false});
  EXPECT_EQ(fl::effective_level(), fl::Level::kDebug);
}

TEST(Logging, RanksOtherThanZeroLogWarningsOnly) {
  ::unsetenv(fl::kLevelEnvironmentVariable);
  fl::configure({fl::Level::kInfo, 3, 4, false});
  EXPECT_EQ(fl::get("rank-test")->level(), spdlog::level::warn);
  fl::configure({fl::Level::kInfo, 3, 4, true});
  EXPECT_EQ(fl::get("rank-test")->level(), spdlog::level::info);
  fl::configure({fl::Level::kInfo, 0, 1, false});
  EXPECT_EQ(fl::get("rank-test")->level(), spdlog::level::info);
}
