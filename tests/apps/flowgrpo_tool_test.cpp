// flowgrpo-tool end to end: the commands documented in docs/parity.md, run as a
// user would, against the reference fixtures.
#include "flowgrpo/io/image_png.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/sampling/schedule.h"
#include "flowgrpo/shapes/renderer.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

using flowgrpo::testing::all_close;
using flowgrpo::testing::data_path;
using flowgrpo::testing::run_command;
using flowgrpo::testing::TempDir;

namespace {

std::string tool() {
  return (flowgrpo::testing::binary_dir() / "apps" / "flowgrpo-tool").string();
}

}  // namespace

TEST(FlowgrpoTool, ScheduleMatchesDiffusersJson) {
  std::ifstream in(data_path("sampling/scheduler_flowmatch_shift3.json"));
  const auto fixture = nlohmann::json::parse(in);
  for (int n : {10, 40}) {
    const auto r = run_command(tool() + " schedule --steps " + std::to_string(n) + " --shift 3");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["sigmas"], fixture["runs"][std::to_string(n)]["sigmas"]);
    EXPECT_EQ(j["timesteps"], fixture["runs"][std::to_string(n)]["timesteps"]);
  }
}

TEST(FlowgrpoTool, ScheduleFromModelFolder) {
  TempDir dir;
  flowgrpo::testing::write_text_file(dir / "scheduler/scheduler_config.json", R"({"shift": 3.0})");
  const auto r = run_command(tool() + " schedule --steps 10 --model " + (dir / "transformer").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(nlohmann::json::parse(r.output)["sigmas"][9].get<double>(), 0.0089285718, 1e-9);
}

TEST(FlowgrpoTool, SdeStepReproducesFlowGrpoFixture) {
  const auto fixture = flowgrpo::io::SafetensorsFile::open(data_path("sampling/sde_steps.safetensors"));
  const auto schedule = flowgrpo::sampling::sd3_schedule(10);
  for (const std::string type : {"sde", "cps"}) {
    for (const std::string mode : {"gen", "known"}) {
      const std::string key = "n10.k4.pipe." + type + ".";
      TempDir dir;
      flowgrpo::io::TensorMap in{{"sample", fixture.load(key + "sample")},
                                 {"model_output", fixture.load(key + "model_output")},
                                 {"sigmas", schedule.sigmas},
                                 {"step_index", torch::tensor({4}, torch::kLong)}};
      if (mode == "gen")
        in["noise"] = fixture.load(key + "gen.variance_noise");
      else
        in["prev_sample"] = fixture.load(key + "known.prev_sample_in");
      flowgrpo::io::save_safetensors(dir / "in.safetensors", in);
      const auto r =
          run_command(tool() + " sde-step --type " + type + " --noise-level 0.7 --input " +
                      (dir / "in.safetensors").string() + " --output " + (dir / "out.safetensors").string());
      ASSERT_EQ(r.exit_code, 0) << r.output;
      const auto out = flowgrpo::io::load_safetensors(dir / "out.safetensors");
      EXPECT_TRUE(all_close(out.at("log_prob"), fixture.load(key + mode + ".log_prob"), 1e-5)) << key << mode;
      EXPECT_TRUE(
          all_close(out.at("prev_sample_mean"), fixture.load(key + mode + ".prev_sample_mean"), 1e-5));
      EXPECT_EQ(out.at("std_dev_t").sizes(), (std::vector<int64_t>{2}));
      EXPECT_TRUE(all_close(out.at("std_dev_t"),
                            fixture.load(key + mode + ".std_dev_t").flatten().expand({2}), 1e-6));
      if (mode == "gen") {
        EXPECT_TRUE(all_close(out.at("prev_sample"), fixture.load(key + "gen.prev_sample"), 1e-5));
      }
    }
  }
}

TEST(FlowgrpoTool, InspectListsTensors) {
  TempDir dir;
  flowgrpo::io::save_safetensors(dir / "w.safetensors", {{"a.weight", torch::zeros({2, 3})},
                                                         {"b", torch::zeros({4}, torch::kBFloat16)}});
  const auto r = run_command(tool() + " inspect " + (dir / "w.safetensors").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("a.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BF16"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[2,3]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 tensors"), std::string::npos) << r.output;
}

TEST(FlowgrpoTool, BadInputIsOneClearLineAndNonZeroExit) {
  TempDir dir;
  flowgrpo::io::save_safetensors(dir / "in.safetensors", {{"sample", torch::zeros({1, 2, 2, 2})}});
  auto r = run_command(tool() + " sde-step --input " + (dir / "in.safetensors").string() + " --output " +
                       (dir / "o.safetensors").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("flowgrpo-tool: error: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing tensor 'model_output'"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;

  r = run_command(tool() + " inspect " + (dir / "nothing.safetensors").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("nothing.safetensors"), std::string::npos) << r.output;

  r = run_command(tool() + " schedule --steps 10");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--shift"), std::string::npos) << r.output;

  r = run_command(tool() + " schedule --steps 0 --shift 3");
  EXPECT_NE(r.exit_code, 0);
}

TEST(FlowgrpoTool, ConfigValidatesAndDumps) {
  const std::string configs = std::string(FLOWGRPO_SOURCE_DIR) + "/configs/";
  auto r = run_command(tool() + " config --config " + configs + "geneval_1gpu.yaml --world-size 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("config OK for 1 rank"), std::string::npos) << r.output;

  r = run_command(tool() + " config --config " + configs +
                  "geneval_1gpu.yaml --set sample.num_steps=20 --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("num_steps: 20"), std::string::npos) << r.output;

  // The 32-GPU recipe on 3 ranks: 3 x 9 = 27 images per iteration cannot hold groups of 24.
  r = run_command(tool() + " config --config " + configs + "geneval.yaml --world-size 3");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("num_image_per_prompt"), std::string::npos) << r.output;

  r = run_command(tool() + " config --set sample.nonsense=1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("sample.nonsense"), std::string::npos) << r.output;
}

TEST(FlowgrpoTool, ForwardMatchesDiffusersFixture) {
  const auto io_file = flowgrpo::io::SafetensorsFile::open(data_path("sd3_tiny/io.safetensors"));
  TempDir dir;
  flowgrpo::io::save_safetensors(dir / "in.safetensors",
                                 {{"hidden_states", io_file.load("input.hidden_states")},
                                  {"encoder_hidden_states", io_file.load("input.encoder_hidden_states")},
                                  {"pooled_projections", io_file.load("input.pooled_projections")},
                                  {"timestep", io_file.load("input.timestep")}});
  for (const std::string dtype : {"float32", "bfloat16"}) {
    const auto r =
        run_command(tool() + " forward --model " + data_path("sd3_tiny").string() +
                    " --component transformer --dtype " + dtype + " --input " +
                    (dir / "in.safetensors").string() + " --output " + (dir / "out.safetensors").string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto out = flowgrpo::io::load_safetensors(dir / "out.safetensors").at("sample");
    const auto ref = io_file.load("output.sample");
    const double scale = ref.abs().max().item<double>();
    EXPECT_TRUE(all_close(out, ref, dtype == "float32" ? 1e-4 : 4e-2 * scale)) << dtype;
  }
  // SD3.5-style config with SD3-1.0-style weights: one line naming the missing tensors.
  std::filesystem::create_directories(dir / "mixed");
  std::filesystem::copy_file(data_path("sd3_tiny/config.json"), dir / "mixed/config.json");
  std::filesystem::copy_file(data_path("sd3_tiny_v1/diffusion_pytorch_model.safetensors"),
                             dir / "mixed/diffusion_pytorch_model.safetensors");
  const auto r =
      run_command(tool() + " forward --model " + (dir / "mixed").string() + " --input " +
                  (dir / "in.safetensors").string() + " --output " + (dir / "o.safetensors").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("missing in file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("attn2"), std::string::npos) << r.output;
}

TEST(FlowgrpoTool, ScoreRatesAFolderOfImages) {
  // Ground-truth renders of the first test prompts score 1 with the shapes reward;
  // one image of another prompt's scene scores less. One JSON line per image, then a summary.
  TempDir dir;
  const auto prompts_file = std::string(FLOWGRPO_SOURCE_DIR) + "/assets/shapes/prompts/test_metadata.jsonl";
  std::ifstream in(prompts_file);
  std::vector<nlohmann::json> rows;
  for (std::string line; rows.size() < 4 && std::getline(in, line);)
    rows.push_back(nlohmann::json::parse(line));
  flowgrpo::shapes::Renderer renderer;
  std::filesystem::create_directories(dir / "images");
  std::ofstream prompts(dir / "prompts.jsonl");
  for (size_t i = 0; i < rows.size(); ++i) {
    prompts << rows[i].dump() << "\n";
    // Image 3 shows prompt 0's scene instead of its own.
    const auto& drawn = i == 3 ? rows[0] : rows[i];
    flowgrpo::io::write_png(dir / "images" / ("img" + std::to_string(i) + ".png"),
                            renderer.render(drawn, 7 + i));
  }
  prompts.close();
  auto r = run_command(tool() + " score --reward shapes --images " + (dir / "images").string() +
                       " --prompts " + (dir / "prompts.jsonl").string() + " --eval");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(out.size(), 5u) << r.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i]["file"], "img" + std::to_string(i) + ".png");
    EXPECT_DOUBLE_EQ(out[i]["score"].get<double>(), 1.0) << out[i].dump();
    EXPECT_DOUBLE_EQ(out[i]["components"]["strict_accuracy"].get<double>(), 1.0) << out[i].dump();
  }
  EXPECT_LT(out[3]["score"].get<double>(), 1.0) << out[3].dump();
  EXPECT_EQ(out[4]["num_images"], 4);
  EXPECT_EQ(out[4]["num_valid"], 4);

  // Mismatched counts and an unknown reward are one clear line each.
  r = run_command(tool() + " score --reward shapes --images " + (dir / "images").string() + " --prompts " +
                  std::string(FLOWGRPO_SOURCE_DIR) + "/assets/shapes/prompts/held_out_metadata.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("line i must describe image i"), std::string::npos) << r.output;
  r = run_command(tool() + " score --reward nope --images " + (dir / "images").string() + " --prompts " +
                  (dir / "prompts.jsonl").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("jpeg_compressibility"), std::string::npos) << r.output;  // lists the known names
}

// Issue 14: a prompt file with invalid UTF-8 used to crash `score` after some rows
// (nlohmann type_error 316 from dump()); prompt files are now checked when loaded, as
// for training, so the tool refuses the file at once with one line naming the file,
// the line and the byte, and scores nothing.
TEST(FlowgrpoTool, ScoreRefusesAPromptFileWithInvalidUtf8NamingFileLineAndByte) {
  TempDir dir;
  std::filesystem::create_directories(dir / "images");
  for (int i = 0; i < 3; ++i)
    flowgrpo::io::write_png(dir / "images" / ("img" + std::to_string(i) + ".png"),
                            torch::full({3, 4, 4}, 40 * i, torch::kByte));
  {
    std::ofstream prompts(dir / "prompts.txt", std::ios::binary);
    prompts << "a plain prompt\n"
            << "caf\xe9 latin-1, not UTF-8\n"  // 0xE9 alone is invalid UTF-8
            << "truncated \xe2\x82\n";
  }
  const auto r = run_command(tool() + " score --reward brightness --images " + (dir / "images").string() +
                             " --prompts " + (dir / "prompts.txt").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("flowgrpo-tool: error: " + (dir / "prompts.txt").string() +
                          ":2: invalid UTF-8 at byte 3 of the line (0xe9)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find('{'), std::string::npos) << "no rows are scored: " << r.output;
}
