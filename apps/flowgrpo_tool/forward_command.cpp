#include "commands.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/models/sd3_transformer.h"

#include <memory>
#include <stdexcept>

namespace flowgrpo::tool {

namespace {

torch::Dtype parse_compute_dtype(const std::string& s) {
  if (s == "float32") return torch::kFloat;
  if (s == "bfloat16") return torch::kBFloat16;
  if (s == "float16") return torch::kHalf;
  throw std::invalid_argument("--dtype: unknown dtype '" + s +
                              "' (expected one of: float32, bfloat16, float16)");
}

}  // namespace

Command add_forward_command(CLI::App& app) {
  struct Options {
    std::string model, component = "transformer", input, output, lora, dtype = "float32", device = "cpu";
  };
  auto o = std::make_shared<Options>();
  app.add_option("--model", o->model, "diffusers pipeline folder (DIR/transformer/) or component folder")
      ->required();
  app.add_option("--component", o->component, "which component to run")
      ->check(CLI::IsMember({"transformer"}));
  app.add_option("--input", o->input,
                 "safetensors with hidden_states [B,C,H,W], encoder_hidden_states [B,S,D], "
                 "pooled_projections [B,P], timestep [B] (0-1000)")
      ->required();
  app.add_option("--output", o->output, "safetensors to write: sample [B,C,H,W] (float32)")->required();
  app.add_option("--lora", o->lora,
                 "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors), e.g. "
                 "a checkpoint's lora/ written by flowgrpo-train, applied to the transformer");
  app.add_option("--dtype", o->dtype, "compute dtype: float32, bfloat16 or float16");
  app.add_option("--device", o->device, "cpu or cuda[:N]");
  return [o]() {
    const auto dtype = parse_compute_dtype(o->dtype);
    const torch::Device device(o->device);
    const auto in = io::load_safetensors(o->input);
    for (const char* name : {"hidden_states", "encoder_hidden_states", "pooled_projections", "timestep"})
      if (in.count(name) == 0)
        throw std::invalid_argument(o->input + ": missing tensor '" + std::string(name) + "'");
    auto model = models::SD3Transformer::from_pretrained(o->model, {dtype, device});
    if (!o->lora.empty()) {
      models::load_lora_adapter(*model, o->lora);
      model->to(device, dtype);
    }
    model->eval();
    torch::NoGradGuard no_grad;
    auto prepare = [&](const char* name) { return in.at(name).to(device, dtype); };
    const auto sample =
        model->forward(prepare("hidden_states"), prepare("encoder_hidden_states"),
                       prepare("pooled_projections"), in.at("timestep").to(device, torch::kFloat));
    io::save_safetensors(o->output, {{"sample", sample.to(torch::kCPU, torch::kFloat).contiguous()}});
    return 0;
  };
}

}  // namespace flowgrpo::tool
