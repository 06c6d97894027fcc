#include "flowgrpo/config/cli_options.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fc = flowgrpo::config;

namespace {

// Parses `arguments` (without the program name) like main() would.
fc::CliOptions parse(std::vector<std::string> arguments) {
  CLI::App app{"test"};
  fc::CliOptions options;
  fc::add_cli_options(app, options);
  std::vector<const char*> argv = {"prog"};
  for (const auto& a : arguments) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return options;
}

}  // namespace

TEST(CliOptions, ConfigSetAndDumpConfig) {
  flowgrpo::testing::TempDir dir;
  flowgrpo::testing::write_text_file(dir / "c.yaml", "sample:\n  num_steps: 12\n");
  const auto options = parse({"--config", (dir / "c.yaml").string(), "--set", "seed=3", "-s",
                              "model.lora.target_modules=[a, b]", "--dump-config"});
  EXPECT_TRUE(options.dump_config);
  ASSERT_EQ(options.overrides.size(), 2u);
  EXPECT_EQ(options.overrides[1], "model.lora.target_modules=[a, b]");
  const auto config = fc::load_config(options);
  EXPECT_EQ(config.sample.num_steps, 12);
  EXPECT_EQ(config.seed, 3);
  EXPECT_EQ(config.model.lora.target_modules, (std::vector<std::string>{"a", "b"}));
}

TEST(CliOptions, NoConfigMeansDefaults) {
  const auto options = parse({});
  EXPECT_FALSE(options.file().has_value());
  EXPECT_FALSE(options.dump_config);
  EXPECT_EQ(fc::load_config(options), fc::Config{});
}

TEST(CliOptions, EachSetTakesOneValue) {
  // A second KEY=VALUE without its own --set is not swallowed by the first.
  EXPECT_THROW(parse({"--set", "seed=1", "seed=2"}), CLI::ParseError);
}
