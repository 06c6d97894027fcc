#!/usr/bin/env python3
"""Export flowgrpo's model-based rewards to TorchScript, once.

flowgrpo runs the PickScore, CLIPScore and LAION-aesthetic rewards in C++ with
torch::jit::load, so training needs no Python. Run this script wherever PyTorch
and transformers are installed (the versions flow_grpo pins: torch 2.x,
transformers 4.40), then point the config at the folders it writes:

    python3 scripts/export_reward_models.py --out reward_models \
        --rewards pickscore clip_score aesthetic \
        --aesthetic-mlp sac+logos+ava1-l14-linearMSE.pth

    # config
    reward: {pickscore: 1.0}
    reward_options: {pickscore: {path: reward_models/pickscore, device: cuda}}

Each reward becomes a folder OUT/<reward>/ holding
    model.pt            TorchScript module: forward(pixel_values[, input_ids,
                        attention_mask]) -> [N] raw scores (float32)
    reward_model.json   the reward name, its inputs, the image processor's
                        resize/crop/normalisation, the tokenizer length, the sources
    tokenizer/          the CLIP tokenizer files (text-conditioned rewards only)

The raw scores are what flow_grpo computes before its scaling, which flowgrpo
applies in C++ (PickScore /26, CLIPScore /30, aesthetic unscaled), so one export
serves any scaling. Pre-processing (resize, centre crop, normalisation) and
tokenisation also run in C++, reproducing CLIPImageProcessor and CLIPTokenizer;
the module sees exactly the tensors the Python processor would produce.

Sources, as flow_grpo (flow_grpo/rewards.py and its scorers):
    pickscore   processor laion/CLIP-ViT-H-14-laion2B-s32B-b79K, model
                yuvalkirstain/PickScore_v1; logit_scale.exp() * cos(image, text)
    clip_score  openai/clip-vit-large-patch14; logits_per_image diagonal
                (= logit_scale.exp() * cos)
    aesthetic   openai/clip-vit-large-patch14 image embedding, L2-normalised,
                through the LAION MLP (768-1024-128-64-16-1) whose weights
                (sac+logos+ava1-l14-linearMSE.pth) you pass with --aesthetic-mlp
"""

import argparse
import json
import os
import shutil
import sys

import torch


class _TextImageScore(torch.nn.Module):
    """logit_scale.exp() * cos(image embedding, text embedding), per pair."""

    def __init__(self, clip_model):
        super().__init__()
        self.clip = clip_model

    def forward(self, pixel_values, input_ids, attention_mask):
        image = self.clip.get_image_features(pixel_values=pixel_values)
        text = self.clip.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
        image = image / image.norm(dim=-1, keepdim=True)
        text = text / text.norm(dim=-1, keepdim=True)
        return self.clip.logit_scale.exp() * (image * text).sum(dim=-1)


class _AestheticMlp(torch.nn.Module):
    # The LAION improved-aesthetic-predictor head; dropout is inert in eval mode.
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(768, 1024), torch.nn.Dropout(0.2),
            torch.nn.Linear(1024, 128), torch.nn.Dropout(0.2),
            torch.nn.Linear(128, 64), torch.nn.Dropout(0.1),
            torch.nn.Linear(64, 16), torch.nn.Linear(16, 1))

    def forward(self, embed):
        return self.layers(embed)


class _AestheticScore(torch.nn.Module):
    def __init__(self, clip_model, mlp):
        super().__init__()
        self.clip = clip_model
        self.mlp = mlp

    def forward(self, pixel_values):
        embed = self.clip.get_image_features(pixel_values=pixel_values)
        embed = embed / torch.linalg.vector_norm(embed, dim=-1, keepdim=True)
        return self.mlp(embed).squeeze(1)


def processor_description(image_processor):
    """The CLIPImageProcessor settings flowgrpo reproduces; refuses any it does not."""
    p = image_processor
    problems = []
    if not getattr(p, "do_resize", True) or "shortest_edge" not in p.size:
        problems.append("expected a shortest-edge resize, found size=%r" % (p.size,))
    if int(getattr(p, "resample", 3)) != 3:
        problems.append("expected BICUBIC resampling (3), found %r" % (p.resample,))
    if not getattr(p, "do_center_crop", True):
        problems.append("expected a centre crop")
    if not getattr(p, "do_rescale", True) or abs(float(p.rescale_factor) - 1 / 255) > 1e-12:
        problems.append("expected rescaling by 1/255, found %r" % (p.rescale_factor,))
    if not getattr(p, "do_normalize", True):
        problems.append("expected normalisation")
    if getattr(p, "do_convert_rgb", True) is False:
        pass  # RGB input either way: flowgrpo's images are RGB
    if problems:
        sys.exit("export_reward_models: unsupported image processor: " + "; ".join(problems))
    crop = p.crop_size
    return {
        "shortest_edge": int(p.size["shortest_edge"]),
        "crop_height": int(crop["height"]),
        "crop_width": int(crop["width"]),
        "mean": [float(v) for v in p.image_mean],
        "std": [float(v) for v in p.image_std],
    }


def write_folder(out_dir, reward, module, example_inputs, input_names, processor, sources, tokenizer=None):
    os.makedirs(out_dir, exist_ok=True)
    module = module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        expected = module(*example_inputs)
        traced = torch.jit.trace(module, example_inputs, check_trace=False)
        # The traced module must generalise over the batch size: check it on another one.
        half = tuple(x[:1] for x in example_inputs)
        got = traced(*half)
        ref = module(*half)
        if not torch.allclose(got, ref, rtol=1e-4, atol=1e-4) or expected.shape[0] != example_inputs[0].shape[0]:
            sys.exit("export_reward_models: the traced %s module does not reproduce the eager one" % reward)
    model_tmp = os.path.join(out_dir, "model.pt.tmp")
    traced.save(model_tmp)
    os.replace(model_tmp, os.path.join(out_dir, "model.pt"))
    meta = {
        "reward": reward,
        "inputs": input_names,
        "image_processor": processor_description(processor.image_processor),
        "max_length": 77,
        "dtype": str(example_inputs[0].dtype).replace("torch.", ""),
        "source": sources,
        "exported_with": {"torch": torch.__version__},
    }
    try:
        import transformers
        meta["exported_with"]["transformers"] = transformers.__version__
    except ImportError:
        pass
    if tokenizer is not None:
        tok_dir = os.path.join(out_dir, "tokenizer")
        shutil.rmtree(tok_dir, ignore_errors=True)
        tokenizer.save_pretrained(tok_dir)
        meta["max_length"] = int(min(77, tokenizer.model_max_length))
    with open(os.path.join(out_dir, "reward_model.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote %s (%s)" % (out_dir, ", ".join(input_names)))


def example_text_inputs(tokenizer, n=2):
    enc = tokenizer(["a photo of a cat", "a red square and a green circle"][:n], padding="max_length",
                    truncation=True, max_length=77, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def export_text_image(out, reward, processor_name, model_name, dtype):
    from transformers import CLIPModel, CLIPProcessor
    processor = CLIPProcessor.from_pretrained(processor_name)
    model = CLIPModel.from_pretrained(model_name, torchscript=True).to(dtype)
    module = _TextImageScore(model)
    crop = processor.image_processor.crop_size
    pixels = torch.randn(2, 3, crop["height"], crop["width"], dtype=dtype)
    ids, mask = example_text_inputs(processor.tokenizer)
    write_folder(os.path.join(out, reward), reward, module, (pixels, ids, mask),
                 ["pixel_values", "input_ids", "attention_mask"], processor,
                 {"processor": processor_name, "model": model_name}, tokenizer=processor.tokenizer)


def export_aesthetic(out, mlp_path, dtype):
    from transformers import CLIPModel, CLIPProcessor
    if not mlp_path or not os.path.isfile(mlp_path):
        sys.exit("export_reward_models: aesthetic needs --aesthetic-mlp PATH to sac+logos+ava1-l14-linearMSE.pth "
                 "(from the LAION improved-aesthetic-predictor; flow_grpo ships it in assets/)")
    name = "openai/clip-vit-large-patch14"
    processor = CLIPProcessor.from_pretrained(name)
    clip = CLIPModel.from_pretrained(name, torchscript=True).to(dtype)
    mlp = _AestheticMlp()
    mlp.load_state_dict(torch.load(mlp_path, map_location="cpu"))
    module = _AestheticScore(clip, mlp.to(dtype))
    crop = processor.image_processor.crop_size
    pixels = torch.randn(2, 3, crop["height"], crop["width"], dtype=dtype)
    write_folder(os.path.join(out, "aesthetic"), "aesthetic", module, (pixels,), ["pixel_values"], processor,
                 {"processor": name, "model": name, "mlp": os.path.basename(mlp_path)})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder; one subfolder per reward")
    parser.add_argument("--rewards", nargs="+", default=["pickscore"],
                        choices=["pickscore", "clip_score", "aesthetic"])
    parser.add_argument("--aesthetic-mlp", help="path to sac+logos+ava1-l14-linearMSE.pth")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"],
                        help="weights and compute dtype of the exported module (the reference scores in float32)")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    for reward in args.rewards:
        if reward == "pickscore":
            export_text_image(args.out, "pickscore", "laion/CLIP-ViT-H-14-laion2B-s32B-b79K",
                              "yuvalkirstain/PickScore_v1", dtype)
        elif reward == "clip_score":
            export_text_image(args.out, "clip_score", "openai/clip-vit-large-patch14",
                              "openai/clip-vit-large-patch14", dtype)
        else:
            export_aesthetic(args.out, args.aesthetic_mlp, dtype)


if __name__ == "__main__":
    main()
