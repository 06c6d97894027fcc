#include "commands.h"

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/models/text_encoders/clip_text_model.h"
#include "flowgrpo/models/text_encoders/t5_encoder_model.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"

#include <filesystem>

#include <memory>
#include <stdexcept>

namespace flowgrpo::tool {

namespace {

// A pipeline folder's component sub-folder when it has one, else the folder itself
// (a component folder given directly).
std::filesystem::path component_folder(const std::string& model, const char* sub) {
  const std::filesystem::path dir(model);
  return std::filesystem::exists(dir / sub / "config.json") ? dir / sub : dir;
}

const torch::Tensor& input(const io::TensorMap& in, const std::string& file, const char* name) {
  const auto it = in.find(name);
  if (it == in.end()) throw std::invalid_argument(file + ": missing tensor '" + std::string(name) + "'");
  return it->second;
}

torch::Tensor to_output(const torch::Tensor& t) {
  return t.to(torch::kCPU, torch::kFloat).contiguous();
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
      ->check(CLI::IsMember({"transformer", "vae", "vae_encoder", "clip_l", "clip_g", "t5"}));
  app.add_option(
         "--input", o->input,
         "safetensors with the component's inputs. transformer: hidden_states [B,C,H,W], "
         "encoder_hidden_states [B,S,D], pooled_projections [B,P], timestep [B] (0-1000); vae: latents "
         "(the decoder's input z as given); vae_encoder: sample [B,3,H,W] in [-1,1]; clip_l, clip_g, t5: "
         "input_ids [B,S]")
      ->required();
  app.add_option(
         "--output", o->output,
         "safetensors to write (float32). transformer: sample; vae: sample (unclamped decoder output); "
         "vae_encoder: mean, logvar; clip_l / clip_g: last_hidden_state, penultimate_hidden_state, "
         "pooled, text_embeds; t5: last_hidden_state")
      ->required();
  app.add_option("--lora", o->lora,
                 "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors), e.g. "
                 "a checkpoint's lora/ written by flowgrpo-train, applied to the transformer");
  app.add_option("--dtype", o->dtype, "compute dtype: float32, bfloat16 or float16");
  app.add_option("--device", o->device, "cpu or cuda[:N]");
  return [o]() {
    const auto dtype = dtype_option(o->dtype);
    const torch::Device device(o->device);
    const auto in = io::load_safetensors(o->input);
    torch::NoGradGuard no_grad_guard;
    if (o->component == "vae" || o->component == "vae_encoder") {
      auto vae = models::AutoencoderKL::from_pretrained(component_folder(o->model, "vae"), {dtype, device});
      if (o->component == "vae") {
        const auto z = input(in, o->input, "latents").to(device, dtype);
        io::save_safetensors(o->output, {{"sample", to_output(vae->decode(z))}});
      } else {
        const auto dist = vae->encode(input(in, o->input, "sample").to(device, dtype));
        io::save_safetensors(o->output, {{"mean", to_output(dist.mean)}, {"logvar", to_output(dist.logvar)}});
      }
      return 0;
    }
    if (o->component == "clip_l" || o->component == "clip_g") {
      auto model = models::CLIPTextModelWithProjection::from_pretrained(
          component_folder(o->model, o->component == "clip_l" ? "text_encoder" : "text_encoder_2"),
          {dtype, device});
      const auto out = model->forward(input(in, o->input, "input_ids").to(torch::kLong));
      io::save_safetensors(o->output, {{"last_hidden_state", to_output(out.last_hidden_state)},
                                       {"penultimate_hidden_state", to_output(out.penultimate_hidden_state)},
                                       {"pooled", to_output(out.pooled)},
                                       {"text_embeds", to_output(out.text_embeds)}});
      return 0;
    }
    if (o->component == "t5") {
      auto model = models::T5EncoderModel::from_pretrained(component_folder(o->model, "text_encoder_3"),
                                                           {dtype, device});
      const auto out = model->forward(input(in, o->input, "input_ids").to(torch::kLong));
      io::save_safetensors(o->output, {{"last_hidden_state", to_output(out.last_hidden_state)}});
      return 0;
    }
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
