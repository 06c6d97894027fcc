#pragma once
// A tiny SD3.5-layout pipeline folder composed from the repository's fixtures, for
// tests that need a whole SD3 pipeline without the Python reference stack:
//   text_encoder/   CLIP-L tiny (fixture clip_l_tiny: width 32, projection 24)
//   text_encoder_2/ CLIP-G tiny (fixture clip_g_tiny: width 40, projection 36)
//   text_encoder_3/ T5 tiny     (fixture t5_tiny: d_model 80)
//   tokenizer/, tokenizer_2/ (pad "!")  the real CLIP BPE files
//   tokenizer_3/    a real-layout T5 sentencepiece model (fixture legal32k)
//   vae/            AutoencoderKL tiny (fixture vae_tiny: 16 latent channels, factor 2)
//   transformer/    a random MMDiT-X (joint_attention_dim 80, pooled 60), seeded
//   scheduler/      FlowMatchEulerDiscreteScheduler, shift 3
// The text part is exactly the encoders of the sd3_prompt_assembly fixture. Images
// are 32x32 (latents 16x16x16, 64 tokens).
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/models/embeddings.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <string>

namespace flowgrpo::testing {

inline void write_sd3_tiny_folder(const std::filesystem::path& dir, uint64_t seed = 0) {
  namespace fs = std::filesystem;
  const fs::path data = FLOWGRPO_TEST_DATA_DIR;
  auto dump = [](const nlohmann::json& j) { return j.dump(2) + "\n"; };
  fs::create_directories(dir);
  io::write_text_atomic(dir / "model_index.json",
                        dump({{"_class_name", "StableDiffusion3Pipeline"},
                              {"_diffusers_version", "0.33.1"},
                              {"feature_extractor", {nullptr, nullptr}},
                              {"image_encoder", {nullptr, nullptr}},
                              {"scheduler", {"diffusers", "FlowMatchEulerDiscreteScheduler"}},
                              {"text_encoder", {"transformers", "CLIPTextModelWithProjection"}},
                              {"text_encoder_2", {"transformers", "CLIPTextModelWithProjection"}},
                              {"text_encoder_3", {"transformers", "T5EncoderModel"}},
                              {"tokenizer", {"transformers", "CLIPTokenizer"}},
                              {"tokenizer_2", {"transformers", "CLIPTokenizer"}},
                              {"tokenizer_3", {"transformers", "T5TokenizerFast"}},
                              {"transformer", {"diffusers", "SD3Transformer2DModel"}},
                              {"vae", {"diffusers", "AutoencoderKL"}}}));
  const auto copy_dir = [](const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(from))
      if (e.path().filename() != "io.safetensors" && e.path().filename() != "prompts.json" &&
          e.path().filename() != "ids.safetensors" && e.path().filename() != "README.md")
        fs::copy_file(e.path(), to / e.path().filename(), fs::copy_options::overwrite_existing);
  };
  copy_dir(data / "text" / "clip_l_tiny", dir / "text_encoder");
  copy_dir(data / "text" / "clip_g_tiny", dir / "text_encoder_2");
  copy_dir(data / "text" / "t5_tiny", dir / "text_encoder_3");
  copy_dir(data / "text" / "clip_tokenizer", dir / "tokenizer");
  copy_dir(data / "text" / "clip_tokenizer", dir / "tokenizer_2");
  io::write_text_atomic(dir / "tokenizer_2" / "special_tokens_map.json", dump({{"pad_token", "!"}}));
  copy_dir(data / "text" / "t5_tokenizer_legal32k", dir / "tokenizer_3");
  copy_dir(data / "vae_tiny", dir / "vae");
  io::write_text_atomic(dir / "scheduler" / "scheduler_config.json",
                        dump({{"_class_name", "FlowMatchEulerDiscreteScheduler"},
                              {"num_train_timesteps", 1000},
                              {"shift", 3.0}}));
  models::SD3TransformerConfig c;
  c.sample_size = 16;
  c.patch_size = 2;
  c.in_channels = c.out_channels = 16;
  c.num_layers = 2;
  c.attention_head_dim = 8;
  c.num_attention_heads = 2;
  c.joint_attention_dim = 80;
  c.caption_projection_dim = 16;
  c.pooled_projection_dim = 60;
  c.pos_embed_max_size = 12;
  c.dual_attention_layers = {0};
  c.qk_norm = "rms_norm";
  torch::manual_seed(static_cast<uint64_t>(seed));
  models::SD3Transformer t(c);
  io::TensorMap weights;
  {
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : io::state_dict(*t)) {
      // Non-trivial everywhere, including the zero-initialised adaLN and output layers.
      weights[name] =
          name == "pos_embed.pos_embed"
              ? models::sd3_sincos_pos_embed(c.inner_dim(), c.pos_embed_max_size,
                                             c.sample_size / c.patch_size)
                    .reshape(p.sizes())
              : (torch::randn(p.sizes()) * (p.dim() > 1 ? 1.0 / std::sqrt(double(p.size(-1))) : 0.1) +
                 (name.find("norm") != std::string::npos && p.dim() == 1 ? 1.0 : 0.0));
    }
  }
  fs::create_directories(dir / "transformer");
  io::write_text_atomic(dir / "transformer" / "config.json", dump(c.to_json()));
  io::save_safetensors(dir / "transformer" / "diffusion_pytorch_model.safetensors", weights);
}

}  // namespace flowgrpo::testing
