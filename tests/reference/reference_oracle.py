#!/usr/bin/env python3
"""The live Python reference for flowgrpo's `reference` tests.

Each subcommand draws a random case from a seed (so a failing case is reproduced
by its seed), runs it through the reference libraries pinned in
requirements/reference.txt (diffusers 0.33.1 as flow_grpo pins it, peft) and
writes the inputs and the reference outputs for the C++ side to compare with.

  transformer SEED OUT_DIR
      a random SD3Transformer2DModel config (plain / dual attention, qk-norm or
      none, patch 1/2, square or rectangular latents, context_pre_only last block),
      random non-trivial weights: OUT_DIR/transformer/{config.json,
      diffusion_pytorch_model.safetensors} by save_pretrained, and
      OUT_DIR/io.safetensors with the inputs and `output.sample`.
  schedule SEED OUT_JSON
      FlowMatchEulerDiscreteScheduler with a random shift and step count, as the
      SD3 pipeline calls set_timesteps: {"shift", "steps", "sigmas", "timesteps"}.
  sde-steps SEED OUT_DIR
      random Flow-SDE / CPS cases (noise level, step count, step index, shape):
      OUT_DIR/case_K.safetensors + OUT_DIR/cases.json, computed with
      flow_grpo's sde_step_with_logprob as written in ../shared/reference/flow_grpo.md
      §1.2-1.3 on diffusers' scheduler.
  lora-forward MODEL_DIR LORA_DIR IN OUT
      diffusers' SD3Transformer2DModel from MODEL_DIR (pipeline or component folder)
      with the PEFT adapter in LORA_DIR (PeftModel.from_pretrained), forward on
      IN's inputs -> OUT `sample`.
  lora-make SEED MODEL_DIR LORA_DIR
      a PEFT LoRA adapter (random rank, alpha, target modules, non-zero lora_B) on
      the transformer in MODEL_DIR, saved by PeftModel.save_pretrained.
"""
import json
import math
import os
import random
import sys

import torch
from safetensors.torch import load_file, save_file


def _rng(seed):
    return random.Random(int(seed))


def _perturb(module, gen):
    """Random, non-trivial weights everywhere: norms != 1, zero-initialised layers != 0."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith("weight") and p.dim() == 1:  # norm scales
                p.copy_(1.0 + 0.2 * noise)
            else:
                fan_in = p.shape[1] if p.dim() > 1 else max(p.numel(), 1)
                p.copy_(noise / math.sqrt(fan_in))


def _model_inputs(config, batch, height, width, text_tokens, gen):
    return {
        "hidden_states": torch.randn(batch, config["in_channels"], height, width, generator=gen),
        "encoder_hidden_states": torch.randn(batch, text_tokens, config["joint_attention_dim"], generator=gen),
        "pooled_projections": torch.randn(batch, config["pooled_projection_dim"], generator=gen),
        "timestep": torch.rand(batch, generator=gen) * 1000.0,
    }


def _load_transformer(model_dir):
    from diffusers import SD3Transformer2DModel

    sub = os.path.join(model_dir, "transformer")
    path = sub if os.path.isdir(sub) else model_dir
    return SD3Transformer2DModel.from_pretrained(path, torch_dtype=torch.float32).eval()


def cmd_transformer(seed, out_dir):
    from diffusers import SD3Transformer2DModel

    r = _rng(seed)
    heads = r.choice([1, 2, 3, 4])
    head_dim = r.choice([4, 8, 16])
    patch = r.choice([1, 2])
    layers = r.randint(1, 4)
    dual = sorted(r.sample(range(layers), r.randint(0, layers - 1))) if layers > 1 else []
    grid_h, grid_w = r.randint(2, 6), r.randint(2, 6)
    config = dict(
        sample_size=max(grid_h, grid_w) * patch,
        patch_size=patch,
        in_channels=r.choice([4, 16]),
        num_layers=layers,
        attention_head_dim=head_dim,
        num_attention_heads=heads,
        joint_attention_dim=r.choice([12, 32, 40]),
        caption_projection_dim=heads * head_dim,
        pooled_projection_dim=r.choice([8, 24]),
        out_channels=None,
        pos_embed_max_size=max(grid_h, grid_w) + r.randint(0, 3),
        dual_attention_layers=tuple(dual),
        qk_norm=r.choice([None, "rms_norm"]),
    )
    config["out_channels"] = config["in_channels"] if r.random() < 0.7 else r.choice([4, 8, 16])
    gen = torch.Generator().manual_seed(int(seed))
    model = SD3Transformer2DModel(**config).eval()
    _perturb(model, gen)
    model.save_pretrained(os.path.join(out_dir, "transformer"), safe_serialization=True)
    batch = r.randint(1, 3)
    inputs = _model_inputs(config, batch, grid_h * patch, grid_w * patch, r.randint(1, 9), gen)
    with torch.no_grad():
        sample = model(**inputs, return_dict=False)[0]
    tensors = {"input." + k: v.contiguous() for k, v in inputs.items()}
    tensors["output.sample"] = sample.contiguous()
    save_file(tensors, os.path.join(out_dir, "io.safetensors"))
    json.dump({"seed": int(seed), "config": config, "batch": batch}, open(os.path.join(out_dir, "case.json"), "w"))


def _sd3_scheduler(shift, steps):
    from diffusers import FlowMatchEulerDiscreteScheduler

    s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    s.set_timesteps(steps)
    return s


def cmd_schedule(seed, out_json):
    r = _rng(seed)
    shift = r.choice([1.0, 3.0]) if r.random() < 0.3 else round(r.uniform(0.5, 6.0), 4)
    steps = r.choice([1, 2, 3, 7, 10, 16, 25, 28, 40, 50, 100])
    s = _sd3_scheduler(shift, steps)
    json.dump({"seed": int(seed), "shift": shift, "steps": steps, "sigmas": s.sigmas.tolist(),
               "timesteps": s.timesteps.tolist()}, open(out_json, "w"))


def _flow_grpo_step(sigmas, step_index, model_output, sample, noise_level, sde_type, prev_sample=None, noise=None):
    """flow_grpo's sde_step_with_logprob (flow_grpo.md §1.2-1.3), float32, per-sample step index."""
    model_output = model_output.float()
    sample = sample.float()
    shape = (-1,) + (1,) * (sample.dim() - 1)
    sigma = sigmas[step_index].view(shape)
    sigma_prev = sigmas[step_index + 1].view(shape)
    sigma_max = sigmas[1].item()
    dt = sigma_prev - sigma
    if sde_type == "sde":
        std_dev_t = torch.sqrt(sigma / (1 - torch.where(sigma == 1, sigma_max, sigma))) * noise_level
        mean = sample * (1 + std_dev_t**2 / (2 * sigma) * dt) + model_output * (1 + std_dev_t**2 * (1 - sigma) / (2 * sigma)) * dt
        if prev_sample is None:
            prev_sample = mean + std_dev_t * torch.sqrt(-1 * dt) * noise
        log_prob = (
            -((prev_sample.detach() - mean) ** 2) / (2 * ((std_dev_t * torch.sqrt(-1 * dt)) ** 2))
            - torch.log(std_dev_t * torch.sqrt(-1 * dt))
            - torch.log(torch.sqrt(2 * torch.as_tensor(math.pi)))
        )
    else:
        std_dev_t = sigma_prev * math.sin(noise_level * math.pi / 2)
        pred_original = sample - sigma * model_output
        noise_estimate = sample + model_output * (1 - sigma)
        mean = pred_original * (1 - sigma_prev) + noise_estimate * torch.sqrt(sigma_prev**2 - std_dev_t**2)
        if prev_sample is None:
            prev_sample = mean + std_dev_t * noise
        log_prob = -((prev_sample.detach() - mean) ** 2)
    log_prob = log_prob.mean(dim=tuple(range(1, log_prob.ndim)))
    return prev_sample, log_prob, mean, std_dev_t


def cmd_sde_steps(seed, out_dir):
    r = _rng(seed)
    gen = torch.Generator().manual_seed(int(seed))
    cases = []
    for k in range(8):
        steps = r.choice([2, 3, 5, 10, 16, 20, 40])
        sde_type = r.choice(["sde", "cps"])
        noise_level = round(r.uniform(0.05, 1.2) if sde_type == "sde" else r.uniform(0.05, 0.95), 4)
        batch = r.randint(1, 4)
        shape = [batch, r.choice([1, 4, 16]), r.randint(1, 6), r.randint(1, 6)]
        per_sample = r.random() < 0.5  # one timestep per sample (training) or one for the batch (rollout)
        idx = [r.randint(0, steps - 1) for _ in range(batch)] if per_sample else [r.randint(0, steps - 1)] * batch
        sigmas = _sd3_scheduler(3.0, steps).sigmas.float()
        step_index = torch.tensor(idx, dtype=torch.long)
        x = torch.randn(shape, generator=gen)
        v = torch.randn(shape, generator=gen)
        noise = torch.randn(shape, generator=gen)
        known = torch.randn(shape, generator=gen) * 0.5 + x
        gen_out = _flow_grpo_step(sigmas, step_index, v, x, noise_level, sde_type, noise=noise)
        known_out = _flow_grpo_step(sigmas, step_index, v, x, noise_level, sde_type, prev_sample=known)
        t = {"sample": x, "model_output": v, "sigmas": sigmas, "step_index": step_index, "noise": noise,
             "prev_sample_in": known}
        for prefix, out in (("gen.", gen_out), ("known.", known_out)):
            t[prefix + "prev_sample"], t[prefix + "log_prob"], t[prefix + "prev_sample_mean"], std = out
            t[prefix + "std_dev_t"] = std.reshape(batch)
        save_file({k2: v2.clone().contiguous() for k2, v2 in t.items()}, os.path.join(out_dir, "case_%d.safetensors" % k))
        cases.append({"file": "case_%d.safetensors" % k, "type": sde_type, "noise_level": noise_level,
                      "steps": steps, "step_index": idx, "shape": shape})
    json.dump({"seed": int(seed), "cases": cases}, open(os.path.join(out_dir, "cases.json"), "w"))


def cmd_lora_forward(model_dir, lora_dir, in_path, out_path):
    from peft import PeftModel

    base = _load_transformer(model_dir)
    model = PeftModel.from_pretrained(base, lora_dir).eval()
    t = load_file(in_path)
    with torch.no_grad():
        sample = model(hidden_states=t["hidden_states"], encoder_hidden_states=t["encoder_hidden_states"],
                       pooled_projections=t["pooled_projections"], timestep=t["timestep"], return_dict=False)[0]
    save_file({"sample": sample.contiguous()}, out_path)


def cmd_lora_make(seed, model_dir, lora_dir):
    from peft import LoraConfig, get_peft_model

    r = _rng(seed)
    # flow_grpo's SD3 targets (attn.to_q/k/v/out.0, attn.add_*_proj, attn.to_add_out) are a
    # subset; feed-forward and output layers too. Linear layers only, as flowgrpo adapts.
    targets = ["to_q", "to_k", "to_v", "to_out.0"]
    extra = ["add_q_proj", "add_k_proj", "add_v_proj", "to_add_out", "ff.net.0.proj", "ff.net.2",
             "ff_context.net.2", "proj_out", "norm1.linear"]
    targets += r.sample(extra, r.randint(0, len(extra)))
    rank = r.choice([1, 2, 4, 8])
    config = LoraConfig(r=rank, lora_alpha=r.choice([rank, 2 * rank, 16]), target_modules=targets,
                        init_lora_weights="gaussian", use_rslora=r.random() < 0.3)
    model = get_peft_model(_load_transformer(model_dir), config)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    model.save_pretrained(lora_dir)


def main(argv):
    commands = {
        "transformer": (cmd_transformer, 2),
        "schedule": (cmd_schedule, 2),
        "sde-steps": (cmd_sde_steps, 2),
        "lora-forward": (cmd_lora_forward, 4),
        "lora-make": (cmd_lora_make, 3),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        sys.stderr.write(__doc__)
        return 2
    torch.manual_seed(0)
    commands[argv[1]][0](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
