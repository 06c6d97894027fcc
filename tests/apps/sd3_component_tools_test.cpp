// flowgrpo-tool's parity verbs for the SD3 components, against the reference
// fixtures: `forward --component vae | vae_encoder | clip_l | clip_g | t5` (a
// component folder, or a pipeline folder whose sub-folder is used) and `tokenize`
// (ids of SD3's three tokenizers as JSON lines).
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/text_file.h"
#include "support/sd3_tiny_folder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;
namespace fio = flowgrpo::io;

const fs::path kData = FLOWGRPO_TEST_DATA_DIR;

std::string sd3_tool() {
  return (ft::binary_dir() / "apps" / "flowgrpo-tool").string();
}

fio::TensorMap forward(const std::string& model, const std::string& component, const fio::TensorMap& inputs,
                       const ft::TempDir& dir) {
  fio::save_safetensors(dir / "in.safetensors", inputs);
  const auto r = ft::run_command(sd3_tool() + " forward --model " + model + " --component " + component +
                                 " --input " + (dir / "in.safetensors").string() + " --output " +
                                 (dir / "out.safetensors").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.exit_code == 0 ? fio::load_safetensors(dir / "out.safetensors") : fio::TensorMap{};
}

TEST(Sd3ComponentTools, ForwardRunsEachComponentAsTheReference) {
  ft::TempDir dir;
  {
    const auto f = fio::load_safetensors(kData / "vae_tiny" / "io.safetensors");
    auto out = forward((kData / "vae_tiny").string(), "vae", {{"latents", f.at("input.z")}}, dir);
    EXPECT_TRUE(ft::all_close(out.at("sample"), f.at("output.decoded"), 1e-4, 1e-4));
    out = forward((kData / "vae_tiny").string(), "vae_encoder", {{"sample", f.at("input.image")}}, dir);
    EXPECT_TRUE(ft::all_close(out.at("mean"), f.at("output.encode_mean"), 1e-4, 1e-4));
    EXPECT_TRUE(ft::all_close(out.at("logvar"), f.at("output.encode_logvar"), 1e-4, 1e-4));
  }
  for (const auto& [component, folder, layers] :
       {std::tuple<const char*, const char*, int>{"clip_l", "clip_l_tiny", 3},
        {"clip_g", "clip_g_tiny", 2}}) {
    SCOPED_TRACE(component);
    const auto f = fio::load_safetensors(kData / "text" / folder / "io.safetensors");
    const auto out =
        forward((kData / "text" / folder).string(), component, {{"input_ids", f.at("input.input_ids")}}, dir);
    EXPECT_TRUE(ft::all_close(out.at("last_hidden_state"), f.at("output.last_hidden_state"), 1e-4, 1e-4));
    EXPECT_TRUE(ft::all_close(out.at("penultimate_hidden_state"),
                              f.at("output.hidden_states." + std::to_string(layers - 1)), 1e-4, 1e-4));
    EXPECT_TRUE(ft::all_close(out.at("pooled"), f.at("output.pooler_output"), 1e-4, 1e-4));
    EXPECT_TRUE(ft::all_close(out.at("text_embeds"), f.at("output.text_embeds"), 1e-4, 1e-4));
  }
  {
    const auto f = fio::load_safetensors(kData / "text" / "t5_tiny" / "io.safetensors");
    // A pipeline folder: the tool uses its text_encoder_3/.
    ft::write_sd3_tiny_folder(dir / "pipe");
    const auto out = forward((dir / "pipe").string(), "t5", {{"input_ids", f.at("input.input_ids")}}, dir);
    EXPECT_TRUE(ft::all_close(out.at("last_hidden_state"), f.at("output.last_hidden_state"), 1e-4, 1e-4));
  }
  // A missing input tensor is named.
  fio::save_safetensors(dir / "bad.safetensors", {{"ids", torch::zeros({1, 3}, torch::kLong)}});
  const auto r = ft::run_command(sd3_tool() + " forward --model " + (kData / "text" / "t5_tiny").string() +
                                 " --component t5 --input " + (dir / "bad.safetensors").string() +
                                 " --output " + (dir / "o.safetensors").string() + " 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("input_ids"), std::string::npos) << r.output;
}

TEST(Sd3ComponentTools, TokenizeGivesTheReferenceIdsOfEachTokenizer) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir / "pipe");
  // The prompts of the sd3_prompt_assembly fixture, whose ids diffusers' pipeline made.
  fio::write_text_atomic(dir / "prompts.txt",
                         "a photo of a red apple and a green pear\na neon sign that says \"GRPO\", 4k\n");
  const auto f = fio::load_safetensors(kData / "text" / "sd3_prompt_assembly" / "io.safetensors");
  for (const auto& [tokenizer, key, length] :
       {std::tuple<const char*, const char*, int>{"clip_l", "input.clip_l_input_ids", 77},
        {"clip_g", "input.clip_g_input_ids", 77},
        {"t5", "input.t5_input_ids", 128}}) {
    SCOPED_TRACE(tokenizer);
    const auto r = ft::run_command(
        sd3_tool() + " tokenize --model " + (dir / "pipe").string() + " --tokenizer " + tokenizer +
        " --prompts " + (dir / "prompts.txt").string() + " --max-length " + std::to_string(length));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::istringstream lines(r.output);
    int64_t row = 0;
    for (std::string line; std::getline(lines, line); ++row) {
      const auto ids = nlohmann::json::parse(line)["input_ids"].get<std::vector<int64_t>>();
      EXPECT_TRUE(torch::equal(torch::tensor(ids), f.at(key)[row])) << line;
    }
    EXPECT_EQ(row, 2);
  }
}

}  // namespace
