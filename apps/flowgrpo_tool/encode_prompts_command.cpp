#include "commands.h"

#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/models/pipelines/sd3_prompt_encoder.h"

#include <iostream>
#include <memory>

namespace flowgrpo::tool {

Command add_encode_prompts_command(CLI::App& app) {
  struct Options {
    std::string model, out, dtype = "float16", device = "cpu";
    std::vector<std::string> prompts;
    int64_t max_sequence_length = 128, batch_size = 16;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--model", o->model, "diffusers SD3 pipeline folder")->required();
  app.add_option("--prompts", o->prompts,
                 "prompt files (.txt one per line, or GenEval .jsonl); several allowed")
      ->required();
  app.add_option("--out", o->out, "the cache file to build or extend (safetensors)")->required();
  app.add_option(
      "--dtype", o->dtype,
      "text-encoder dtype, as the run's model.dtype: float32, bfloat16 or float16 (a cache made in "
      "another dtype is refused by the trainer)");
  app.add_option("--device", o->device, "cpu or cuda[:N]");
  app.add_option("--max-sequence-length", o->max_sequence_length, "T5 tokens, as model.max_sequence_length");
  app.add_option("--batch-size", o->batch_size, "prompts per encoder batch");
  return [o]() {
    std::vector<std::string> texts{""};  // the negative prompt of CFG
    for (const auto& file : o->prompts) {
      const auto prompts = data::PromptDataset::load(file);
      for (size_t i = 0; i < prompts.size(); ++i) texts.push_back(prompts.prompt(i));
    }
    const auto index = models::ModelIndex::read(o->model);
    index.require_class({"StableDiffusion3Pipeline"}, "encode-prompts");
    models::SD3PromptEncoderOptions encoding;
    encoding.max_sequence_length = o->max_sequence_length;
    const auto dtype = dtype_option(o->dtype);
    const auto cache = models::SD3PromptEncoder::open_cache(
        index, o->out, texts, {dtype, torch::Device(o->device)}, encoding, true, o->batch_size);
    std::cout << "wrote " << o->out << ": " << cache.size() << " prompts, fingerprint " << cache.fingerprint()
              << "\n";
    return 0;
  };
}

}  // namespace flowgrpo::tool
