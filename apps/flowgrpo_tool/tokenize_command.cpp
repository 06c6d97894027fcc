#include "commands.h"

#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/text/clip_tokenizer.h"
#include "flowgrpo/text/t5_tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

namespace flowgrpo::tool {

namespace {

std::filesystem::path tokenizer_folder(const std::string& model, const std::string& which) {
  const char* sub = which == "clip_l" ? "tokenizer" : which == "clip_g" ? "tokenizer_2" : "tokenizer_3";
  const std::filesystem::path dir(model);
  return std::filesystem::is_directory(dir / sub) ? dir / sub : dir;
}

std::vector<int64_t> row(const torch::Tensor& ids, int64_t i) {
  const auto r = ids[i].contiguous();
  return {r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()};
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string model, tokenizer, prompts;
    int64_t max_length = 0;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--model", o->model, "diffusers pipeline folder (DIR/tokenizer*/) or a tokenizer folder")
      ->required();
  app.add_option("--tokenizer", o->tokenizer,
                 "clip_l (tokenizer/), clip_g (tokenizer_2/) or t5 (tokenizer_3/)")
      ->required()
      ->check(CLI::IsMember({"clip_l", "clip_g", "t5"}));
  app.add_option("--prompts", o->prompts, "prompt file: .txt (one per line) or GenEval .jsonl")->required();
  app.add_option("--max-length", o->max_length,
                 "padded length (default: 77 for CLIP, 128 for T5 as flow_grpo trains)");
  return [o]() {
    const auto prompts = data::PromptDataset::load(o->prompts);
    std::vector<std::string> texts;
    for (size_t i = 0; i < prompts.size(); ++i) texts.push_back(prompts.prompt(i));
    const auto dir = tokenizer_folder(o->model, o->tokenizer);
    if (o->tokenizer == "t5") {
      const auto tok = text::T5Tokenizer::from_directory(dir);
      const auto enc = tok.encode_batch(texts, o->max_length > 0 ? o->max_length : 128);
      for (size_t i = 0; i < texts.size(); ++i)
        std::cout << nlohmann::json{{"prompt", texts[i]},
                                    {"input_ids", row(enc.input_ids, static_cast<int64_t>(i))},
                                    {"num_tokens_untruncated", enc.num_tokens_untruncated[i]}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
    } else {
      const auto tok = text::ClipTokenizer::from_directory(dir);
      const auto enc = tok.encode_batch(texts, o->max_length > 0 ? o->max_length : 77);
      for (size_t i = 0; i < texts.size(); ++i)
        std::cout << nlohmann::json{{"prompt", texts[i]},
                                    {"input_ids", row(enc.input_ids, static_cast<int64_t>(i))},
                                    {"num_tokens_untruncated",
                                     static_cast<int64_t>(tok.encode(texts[i]).size()) + 2}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
    }
    return 0;
  };
}

}  // namespace flowgrpo::tool
