#include "flowgrpo/config/config_loader.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>

namespace fc = flowgrpo::config;
using flowgrpo::testing::TempDir;
using flowgrpo::testing::write_text_file;

namespace {

fc::Config from_yaml(const std::string& text) {
  return fc::config_from_yaml(text, "test.yaml");
}

}  // namespace

TEST(ConfigDefaults, FollowTheReferenceSd3Recipe) {
  const fc::Config c;
  EXPECT_EQ(c.seed, 42);
  EXPECT_EQ(c.model.type, fc::ModelType::kSd3);
  EXPECT_EQ(c.model.dtype, fc::DType::kFloat16);
  EXPECT_TRUE(c.model.autocast);
  EXPECT_EQ(c.model.resolution, 512);
  EXPECT_EQ(c.model.lora.rank, 32);
  EXPECT_EQ(c.model.lora.alpha, 64.0);
  EXPECT_EQ(c.model.lora.target_modules.size(), 8u);
  EXPECT_EQ(c.model.lora.init, fc::LoraInit::kGaussian);
  EXPECT_EQ(c.sample.num_steps, 10);
  EXPECT_EQ(c.sample.eval_num_steps, 40);
  EXPECT_EQ(c.sample.noise_level, 0.7);
  EXPECT_EQ(c.sample.guidance_scale, 4.5);
  EXPECT_FALSE(c.sample.eval_guidance_scale.has_value());
  EXPECT_EQ(fc::effective_eval_guidance_scale(c.sample), 4.5);
  EXPECT_EQ(c.sample.num_image_per_prompt, 24);
  EXPECT_EQ(c.sample.num_batches_per_epoch, 4);
  EXPECT_EQ(c.sample.sde_type, fc::SdeType::kSde);
  EXPECT_TRUE(c.sample.global_std);
  EXPECT_EQ(c.train.learning_rate, 3e-4);
  EXPECT_EQ(c.train.clip_range, 1e-4);
  EXPECT_EQ(c.train.beta, 0.04);
  EXPECT_EQ(c.train.timestep_fraction, 0.99);
  EXPECT_EQ(c.train.ema_update_every, 8);
  EXPECT_EQ(c.train.ema_max_decay, 0.9);
  EXPECT_TRUE(c.reward.empty());
  EXPECT_EQ(c.logging.level, flowgrpo::log::Level::kInfo);
  EXPECT_EQ(c.dist.backend, fc::DistBackend::kAuto);
  EXPECT_EQ(c.dist.timeout_seconds, 1800);
  EXPECT_EQ(fc::effective_output_dir(c), "runs/flowgrpo");
}

TEST(ConfigLoader, NoFileNoOverridesGivesDefaults) {
  EXPECT_EQ(fc::load_config(std::nullopt, {}), fc::Config{});
  EXPECT_EQ(from_yaml(""), fc::Config{});
}

TEST(ConfigLoader, FileOverridesDefaultsAndSetOverridesFile) {
  TempDir dir;
  write_text_file(dir / "run.yaml",
                  "seed: 7\n"
                  "sample:\n"
                  "  num_steps: 20\n"
                  "  noise_level: 0.8\n"
                  "train:\n"
                  "  beta: 0.01\n");
  const auto from_file = fc::load_config(dir / "run.yaml", {});
  EXPECT_EQ(from_file.seed, 7);
  EXPECT_EQ(from_file.sample.num_steps, 20);
  EXPECT_EQ(from_file.sample.noise_level, 0.8);
  EXPECT_EQ(from_file.train.beta, 0.01);
  EXPECT_EQ(from_file.sample.eval_num_steps, 40);  // untouched keys keep their defaults

  const auto with_set =
      fc::load_config(dir / "run.yaml", {"sample.num_steps=30", "seed=9", "sample.num_steps=31"});
  EXPECT_EQ(with_set.sample.num_steps, 31);  // later --set wins
  EXPECT_EQ(with_set.seed, 9);
  EXPECT_EQ(with_set.sample.noise_level, 0.8);
}

TEST(ConfigLoader, NestedAndListOverrides) {
  const auto c = fc::load_config(
      std::nullopt, {"model.lora.rank=16", "model.lora.target_modules=[attn.to_q, attn.to_v]",
                     "sample.sde_window_range=[1, 4]", "model.dtype=bf16", "sample.eval_guidance_scale=1",
                     "model.lora.enabled=false", "run_name=my run", "resume=", "reward={pickscore: 0.5}"});
  EXPECT_EQ(c.model.lora.rank, 16);
  EXPECT_EQ(c.model.lora.target_modules, (std::vector<std::string>{"attn.to_q", "attn.to_v"}));
  EXPECT_EQ(c.sample.sde_window_range, (std::array<int, 2>{1, 4}));
  EXPECT_EQ(c.model.dtype, fc::DType::kBFloat16);
  EXPECT_EQ(fc::effective_eval_guidance_scale(c.sample), 1.0);
  EXPECT_FALSE(c.model.lora.enabled);
  EXPECT_EQ(c.run_name, "my run");
  EXPECT_EQ(c.resume, "");
  ASSERT_EQ(c.reward.size(), 1u);
  EXPECT_EQ(c.reward[0], (fc::RewardWeight{"pickscore", 0.5}));
  // A whole section as a flow map.
  const auto d = fc::load_config(std::nullopt, {"model.lora={rank: 8, alpha: 8}"});
  EXPECT_EQ(d.model.lora.rank, 8);
  EXPECT_EQ(d.model.lora.alpha, 8.0);
  EXPECT_TRUE(d.model.lora.enabled);
}

TEST(ConfigLoader, ListsReplaceInsteadOfMerging) {
  TempDir dir;
  write_text_file(dir / "base.yaml", "model:\n  lora:\n    target_modules: [a, b, c]\n");
  write_text_file(dir / "run.yaml", "include: base.yaml\nmodel:\n  lora:\n    target_modules: [d]\n");
  EXPECT_EQ(fc::load_config(dir / "run.yaml", {}).model.lora.target_modules, std::vector<std::string>{"d"});
}

TEST(ConfigLoader, MalformedOverrides) {
  flowgrpo::testing::expect_invalid_argument([] { fc::load_config(std::nullopt, {"sample.num_steps"}); },
                                             {"--set sample.num_steps", "KEY=VALUE"});
  flowgrpo::testing::expect_invalid_argument([] { fc::load_config(std::nullopt, {"sample..num_steps=3"}); },
                                             {"malformed key 'sample..num_steps'"});
  flowgrpo::testing::expect_invalid_argument(
      [] { fc::load_config(std::nullopt, {"model.lora.target_modules=[a, b"}); },
      {"--set model.lora.target_modules=[a, b", "not valid YAML"});
  flowgrpo::testing::expect_invalid_argument(
      [] { fc::load_config(std::nullopt, {"include=x.yaml"}); },
      {"include: only allowed in config files", "(--set include=x.yaml)"});
}

TEST(ConfigLoader, IncludesMergeDeeplyAndTheIncludingFileWins) {
  TempDir dir;
  write_text_file(dir / "rewards" / "geneval.yaml", "reward:\n  geneval: 1.0\n");
  write_text_file(dir / "rewards" / "extra.yaml", "reward:\n  pickscore: 0.5\n  geneval: 0.25\n");
  write_text_file(dir / "common.yaml",
                  "include: rewards/geneval.yaml\n"  // relative to common.yaml
                  "sample:\n  num_steps: 12\n  noise_level: 0.9\n"
                  "train:\n  beta: 0.5\n");
  write_text_file(dir / "recipe.yaml",
                  "include: [common.yaml, rewards/extra.yaml]\n"
                  "sample:\n  noise_level: 0.6\n");
  const auto c = fc::load_config(dir / "recipe.yaml", {});
  EXPECT_EQ(c.sample.num_steps, 12);       // from the include
  EXPECT_EQ(c.sample.noise_level, 0.6);    // the including file wins
  EXPECT_EQ(c.sample.eval_num_steps, 40);  // default
  EXPECT_EQ(c.train.beta, 0.5);
  // Maps merge entry by entry; later layers update a weight in place.
  ASSERT_EQ(c.reward.size(), 2u);
  EXPECT_EQ(c.reward[0], (fc::RewardWeight{"geneval", 0.25}));
  EXPECT_EQ(c.reward[1], (fc::RewardWeight{"pickscore", 0.5}));
}

TEST(ConfigLoader, IncludeCycleShowsTheChain) {
  TempDir dir;
  write_text_file(dir / "a.yaml", "include: b.yaml\nseed: 1\n");
  write_text_file(dir / "b.yaml", "include: [c.yaml]\n");
  write_text_file(dir / "c.yaml", "include: a.yaml\n");
  const std::string a = (dir / "a.yaml").string(), b = (dir / "b.yaml").string(),
                    c = (dir / "c.yaml").string();
  flowgrpo::testing::expect_invalid_argument([&] { fc::load_config(dir / "a.yaml", {}); },
                                             {"include cycle: " + a + " -> " + b + " -> " + c + " -> " + a});
  write_text_file(dir / "self.yaml", "include: self.yaml\n");
  flowgrpo::testing::expect_invalid_argument([&] { fc::load_config(dir / "self.yaml", {}); },
                                             {"include cycle"});
}

TEST(ConfigLoader, DiamondIncludeIsNotACycle) {
  TempDir dir;
  write_text_file(dir / "leaf.yaml", "seed: 3\n");
  write_text_file(dir / "left.yaml", "include: leaf.yaml\n");
  write_text_file(dir / "right.yaml", "include: leaf.yaml\n");
  write_text_file(dir / "top.yaml", "include: [left.yaml, right.yaml]\n");
  EXPECT_EQ(fc::load_config(dir / "top.yaml", {}).seed, 3);
}

TEST(ConfigLoader, MissingFilesAndBadYaml) {
  TempDir dir;
  flowgrpo::testing::expect_invalid_argument([&] { fc::load_config(dir / "nope.yaml", {}); },
                                             {"config file not found", "nope.yaml"});
  write_text_file(dir / "inc.yaml", "seed: 1\ninclude: missing.yaml\n");
  flowgrpo::testing::expect_invalid_argument(
      [&] { fc::load_config(dir / "inc.yaml", {}); },
      {"config file not found", "missing.yaml", "included from " + (dir / "inc.yaml").string() + ":2"});
  write_text_file(dir / "bad.yaml", "sample:\n  num_steps: [1, 2\n");
  flowgrpo::testing::expect_invalid_argument([&] { fc::load_config(dir / "bad.yaml", {}); },
                                             {"bad.yaml:", "invalid YAML"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("include: 5: 6\n"); },
                                             {"test.yaml:1:", "invalid YAML"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("include: {a: b}\n"); },
                                             {"include: expected a path or a list of paths"});
}

TEST(ConfigLoader, UnknownTopLevelKeyNamesSourceAndValidKeys) {
  TempDir dir;
  write_text_file(dir / "x.yaml", "seed: 1\nsamples:\n  num_steps: 3\n");
  flowgrpo::testing::expect_invalid_argument(
      [&] { fc::load_config(dir / "x.yaml", {}); },
      {"samples: unknown key (" + (dir / "x.yaml").string() + ":2:1)", "did you mean 'sample'?",
       "valid top-level keys: include, seed, run_name, output_dir, resume, model, data, sample, train, "
       "reward, reward_options, eval, logging, dist"});
}

TEST(ConfigLoader, UnknownNestedKeyNamesPathSourceAndValidKeys) {
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("model:\n  lora:\n    rnak: 3\n"); },
      {"model.lora.rnak: unknown key (test.yaml:3:5)", "did you mean 'rank'?",
       "valid keys in 'model.lora': enabled, rank, alpha, target_modules, init, path"});
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("sample:\n  include: x.yaml\n"); },
      {"sample.include: unknown key", "valid keys in 'sample': num_steps,"});
}

TEST(ConfigLoader, UnknownKeyViaSetFails) {
  flowgrpo::testing::expect_invalid_argument([] { fc::load_config(std::nullopt, {"sample.num_step=3"}); },
                                             {"sample.num_step: unknown key (--set sample.num_step=3)",
                                              "did you mean 'num_steps'?", "valid keys in 'sample': "});
  flowgrpo::testing::expect_invalid_argument(
      [] { fc::load_config(std::nullopt, {"sample.num_steps.x=3"}); },
      {"sample.num_steps: expected an integer, found a mapping (--set sample.num_steps.x=3)"});
}

TEST(ConfigLoader, TypeErrorsNameKeyValueAndPosition) {
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("sample:\n  num_steps: ten\n"); },
      {"sample.num_steps: expected an integer, found 'ten' (test.yaml:2:14)"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("sample:\n  num_steps: 1.5\n"); },
                                             {"expected an integer, found '1.5'"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("sample:\n  num_steps: 99999999999\n"); },
                                             {"out of range"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("sample:\n  noise_level: high\n"); },
                                             {"sample.noise_level: expected a number, found 'high'"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("train:\n  cfg: maybe\n"); },
                                             {"train.cfg: expected true or false, found 'maybe'"});
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("model:\n  lora:\n    target_modules: attn.to_q\n"); },
      {"model.lora.target_modules: expected a list of strings, found 'attn.to_q'"});
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("sample:\n  sde_window_range: [0, 1, 2]\n"); },
      {"sample.sde_window_range: expected a list of 2 integers like [0, 5], found a list of 3"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("sample: 3\n"); },
                                             {"sample: expected a mapping of keys, found '3'"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("run_name: [a]\n"); },
                                             {"run_name: expected a string, found a list"});
  flowgrpo::testing::expect_invalid_argument(
      [] { fc::load_config(std::nullopt, {"sample.num_steps=ten"}); },
      {"sample.num_steps: expected an integer, found 'ten' (--set sample.num_steps=ten)"});
}

TEST(ConfigLoader, AllLoadErrorsAreReportedTogether) {
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("sample:\n  num_steps: ten\n  bogus: 1\ntrain:\n  beta: x\n"); },
      {"3 configuration errors", "sample.num_steps", "sample.bogus", "train.beta"});
}

TEST(ConfigLoader, DuplicateKeysAreRejected) {
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("seed: 1\nseed: 2\n"); },
                                             {"seed: key appears twice (test.yaml:2:1)"});
}

TEST(ConfigLoader, ScalarSpellings) {
  const auto c = from_yaml(
      "seed: +5\ntrain:\n  cfg: no\n  ema: On\n  learning_rate: 1e-4\n  beta: 0\n"
      "sample:\n  eval_guidance_scale: ~\n  kl_reward: .inf\nresume:\n");
  EXPECT_EQ(c.seed, 5);
  EXPECT_FALSE(c.train.cfg);
  EXPECT_TRUE(c.train.ema);
  EXPECT_EQ(c.train.learning_rate, 1e-4);
  EXPECT_EQ(c.train.beta, 0.0);
  EXPECT_FALSE(c.sample.eval_guidance_scale.has_value());
  EXPECT_TRUE(std::isinf(c.sample.kl_reward));
  EXPECT_EQ(c.resume, "");
  // An empty section (all keys commented out) is fine.
  EXPECT_EQ(from_yaml("sample:\n  # num_steps: 3\ntrain:\n"), fc::Config{});
}

TEST(ConfigLoader, EnumParseErrorsListValidValues) {
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("sample:\n  sde_type: ode\n"); },
      {"sample.sde_type: unknown SDE type 'ode'; valid: sde, cps (test.yaml:2:13)"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("model:\n  type: sdxl\n"); },
                                             {"unknown model type 'sdxl'; valid: sd3, flux"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("model:\n  dtype: int8\n"); },
                                             {"unknown dtype 'int8'; valid: float32, bfloat16, float16"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("data:\n  format: csv\n"); },
                                             {"valid: geneval, text"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("model:\n  lora:\n    init: zeros\n"); },
                                             {"valid: gaussian, kaiming"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("dist:\n  backend: mpi\n"); },
                                             {"valid: auto, gloo, nccl, none"});
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("logging:\n  level: loud\n"); },
      {"logging.level:", "'loud'", "trace, debug, info, warn, error, off"});
}

TEST(ConfigEnums, RoundTripAndAliases) {
  for (auto t : {fc::ModelType::kSd3, fc::ModelType::kFlux})
    EXPECT_EQ(fc::parse_model_type(fc::to_string(t)), t);
  for (auto d : {fc::DType::kFloat32, fc::DType::kBFloat16, fc::DType::kFloat16})
    EXPECT_EQ(fc::parse_dtype(fc::to_string(d)), d);
  EXPECT_EQ(fc::parse_dtype("FP16"), fc::DType::kFloat16);
  EXPECT_EQ(fc::parse_dtype("bf16"), fc::DType::kBFloat16);
  for (auto s : {fc::SdeType::kSde, fc::SdeType::kCps}) EXPECT_EQ(fc::parse_sde_type(fc::to_string(s)), s);
  for (auto f : {fc::PromptFormat::kGeneval, fc::PromptFormat::kText})
    EXPECT_EQ(fc::parse_prompt_format(fc::to_string(f)), f);
  for (auto i : {fc::LoraInit::kGaussian, fc::LoraInit::kKaiming})
    EXPECT_EQ(fc::parse_lora_init(fc::to_string(i)), i);
  for (auto b :
       {fc::DistBackend::kAuto, fc::DistBackend::kGloo, fc::DistBackend::kNccl, fc::DistBackend::kNone})
    EXPECT_EQ(fc::parse_dist_backend(fc::to_string(b)), b);
  flowgrpo::testing::expect_invalid_argument([] { fc::parse_sde_type("ode"); },
                                             {"unknown SDE type 'ode'; valid: sde, cps"});
}

TEST(ConfigRewards, OrderIsKeptAndNullRemovesAnEntry) {
  TempDir dir;
  write_text_file(dir / "r.yaml", "reward:\n  pickscore: 0.5\n  ocr: 0.2\n  aesthetic: 0.3\n");
  auto c =
      fc::load_config(dir / "r.yaml", {"reward.ocr=0.4", "reward.clipscore=0.1", "reward.pickscore=null"});
  ASSERT_EQ(c.reward.size(), 3u);
  EXPECT_EQ(c.reward[0], (fc::RewardWeight{"ocr", 0.4}));
  EXPECT_EQ(c.reward[1], (fc::RewardWeight{"aesthetic", 0.3}));
  EXPECT_EQ(c.reward[2], (fc::RewardWeight{"clipscore", 0.1}));
  // A null map removes every inherited entry.
  EXPECT_TRUE(fc::load_config(dir / "r.yaml", {"reward=null"}).reward.empty());
  // Order survives a dump and reload.
  EXPECT_EQ(fc::config_from_yaml(fc::dump_config(c), "dump"), c);
}

TEST(ConfigRewards, BadWeightsAndShapes) {
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("reward:\n  geneval: lots\n"); },
      {"reward.geneval: expected a number, found 'lots' (the reward's weight) (test.yaml:2:12)"});
  flowgrpo::testing::expect_invalid_argument(
      [] { from_yaml("reward: [geneval]\n"); },
      {"reward: expected a mapping of reward name to weight, e.g. {geneval: 1.0}, found a list"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("reward:\n  a: 1\n  a: 2\n"); },
                                             {"reward.a: reward appears twice"});
  // Non-finite weights load (so the validator can name them) but do not validate; see the validator tests.
  EXPECT_TRUE(std::isnan(from_yaml("reward:\n  a: .nan\n").reward[0].weight));
}

TEST(ConfigDump, RoundTripsDefaultsAndChangedValues) {
  fc::Config c;
  EXPECT_EQ(fc::config_from_yaml(fc::dump_config(c), "dump"), c);

  c.seed = 123456789012345;
  c.run_name = "true";  // strings that look like other types stay strings
  c.output_dir = "~";
  c.resume = "";
  c.model.pretrained = "/models/sd3: medium #1";
  c.model.type = fc::ModelType::kFlux;
  c.model.dtype = fc::DType::kBFloat16;
  c.model.lora.target_modules = {};
  c.model.lora.init = fc::LoraInit::kKaiming;
  c.sample.noise_level = 0.1 + 0.2;  // needs 17 digits
  c.sample.eval_guidance_scale = 1.0;
  c.sample.sde_window_range = {-1, 7};
  c.train.learning_rate = 3e-4;
  c.train.adam_epsilon = 1e-300;
  c.train.adam_weight_decay = 12345.0;
  c.sample.kl_reward = -std::numeric_limits<double>::infinity();
  c.reward = {{"pickscore", 0.5}, {"ocr", 2.0}};
  c.logging.level = flowgrpo::log::Level::kDebug;
  c.dist.backend = fc::DistBackend::kNccl;
  const std::string text = fc::dump_config(c);
  const auto back = fc::config_from_yaml(text, "dump");
  EXPECT_EQ(back, c) << text;
  EXPECT_EQ(fc::dump_config(back), text);
}

TEST(ConfigDump, PrintsEveryKeyInDocumentedOrderWithReadableNumbers) {
  const std::string text = fc::dump_config(fc::Config{});
  const std::vector<std::string> ordered = {"seed: 42",
                                            "run_name: \"flowgrpo\"",
                                            "model:",
                                            "  pretrained: \"\"",
                                            "  lora:",
                                            "    rank: 32",
                                            "data:",
                                            "sample:",
                                            "  noise_level: 0.7",
                                            "  eval_guidance_scale: ~",
                                            "  sde_window_range: [0, 5]",
                                            "train:",
                                            "  learning_rate: 3.0e-4",
                                            "  adam_epsilon: 1.0e-8",
                                            "reward: {}",
                                            "eval:",
                                            "logging:",
                                            "  level: info",
                                            "dist:",
                                            "  backend: auto"};
  std::size_t position = 0;
  for (const auto& line : ordered) {
    const auto found = text.find(line, position);
    ASSERT_NE(found, std::string::npos) << "'" << line << "' missing or out of order in:\n" << text;
    position = found;
  }
  EXPECT_EQ(text.find("include"), std::string::npos);
}

TEST(ConfigEquality, DetectsAnyChangedKey) {
  fc::Config a, b;
  EXPECT_EQ(a, b);
  b.model.lora.target_modules.pop_back();
  EXPECT_NE(a, b);
  b = a;
  b.dist.timeout_seconds = 1;
  EXPECT_NE(a, b);
  b = a;
  b.sample.eval_guidance_scale = 4.5;
  EXPECT_NE(a, b);
}

TEST(ConfigOutputDir, SubstitutesRunName) {
  fc::Config c;
  c.run_name = "geneval";
  c.output_dir = "/scratch/{run_name}/out";
  EXPECT_EQ(fc::effective_output_dir(c), "/scratch/geneval/out");
  c.output_dir = "fixed";
  EXPECT_EQ(fc::effective_output_dir(c), "fixed");
}

TEST(ConfigRewardOptions, MergeKeyByKeyKeepTypesAndRoundTrip) {
  TempDir dir;
  write_text_file(
      dir / "base.yaml",
      "reward_options:\n  geneval:\n    url: http://a:1\n    timeout_s: 30\n    retry: {max: 3}\n");
  write_text_file(dir / "run.yaml",
                  "include: [base.yaml]\nreward_options:\n  geneval:\n    timeout_s: 60.5\n");
  const auto c = fc::load_config(
      dir / "run.yaml", {"reward_options.geneval.retry.max=5", "reward_options.ocr.url=x",
                         "reward_options.geneval.health_check=false", "reward_options.geneval.tag='7'"});
  const auto& g = c.reward_options.at("geneval");
  EXPECT_EQ(g.at("url"), "http://a:1");
  EXPECT_EQ(g.at("timeout_s"), 60.5);
  EXPECT_EQ(g.at("retry").at("max"), 5);
  EXPECT_TRUE(g.at("retry").at("max").is_number_integer());
  EXPECT_EQ(g.at("health_check"), false);
  EXPECT_EQ(g.at("tag"), "7");  // quoted: a string
  EXPECT_EQ(c.reward_options.at("ocr").at("url"), "x");
  // null removes one key, or everything.
  EXPECT_FALSE(fc::load_config(dir / "run.yaml", {"reward_options.geneval.url=null"})
                   .reward_options.at("geneval")
                   .contains("url"));
  EXPECT_TRUE(fc::load_config(dir / "run.yaml", {"reward_options=null"}).reward_options.empty());
  EXPECT_EQ(fc::config_from_yaml(fc::dump_config(c), "dump"), c) << fc::dump_config(c);
}

TEST(ConfigRewardOptions, MustBeMappings) {
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("reward_options: [geneval]\n"); },
                                             {"reward_options: expected a mapping", "found a list"});
}

// Issue 14: a mapping with a non-string key inside an option list (`[{[1, 2]: 3}]`) made
// yaml-cpp throw TypedBadConversion past the loader, with no file name; every YAML problem
// names its source, key path and position.
TEST(ConfigRewardOptions, NonStringKeysInsideListsNameFileKeyAndPosition) {
  TempDir dir;
  write_text_file(dir / "run.yaml",
                  "reward_options:\n  x:\n    k: [{[1, 2]: 3}]\n    m: [{a: {{b: 1}: 2}}]\n");
  const auto file = (dir / "run.yaml").string();
  flowgrpo::testing::expect_invalid_argument(
      [&] { fc::load_config(dir / "run.yaml", {}); },
      {"2 configuration errors",
       "reward_options.x.k[0]: keys must be non-empty strings, found a list (" + file + ":3:10)",
       "reward_options.x.m[0].a: keys must be non-empty strings, found a mapping (" + file + ":4:14)"});
  flowgrpo::testing::expect_invalid_argument(
      [] { fc::load_config(std::nullopt, {"reward_options.x.k=[{[1,2]: 3}]"}); },
      {"reward_options.x.k[0]: keys must be non-empty strings, found a list (--set "
       "reward_options.x.k=[{[1,2]: 3}])"});
  flowgrpo::testing::expect_invalid_argument([] { from_yaml("reward_options: {x: {k: [{[1,2]: 3}]}}\n"); },
                                             {"reward_options.x.k[0]: keys must be", "(test.yaml:1:"});
  // Scalar keys of any spelling are still strings.
  const auto c = from_yaml("reward_options: {x: {k: [{1: a, true: b, 'q': c}]}}\n");
  EXPECT_EQ(c.reward_options.at("x").at("k"),
            nlohmann::json::parse(R"([{"1": "a", "true": "b", "q": "c"}])"));
}
