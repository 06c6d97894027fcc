#!/usr/bin/env python3
"""Test helper for tests/rewards/torchscript_reward_test.cpp and
clip_image_processor_test.cpp (runs with the project's .venv: torch, Pillow, numpy).

  export OUT TOKENIZER_DIR        tiny scripted scorers in the layout of
                                  scripts/export_reward_models.py
  resize IN OUT N C H W OH OW     PIL BICUBIC resize of raw uint8 [N,C,H,W]
  preprocess IN OUT N H W SHORTEST CROP_H CROP_W
                                  CLIPImageProcessor's steps (transformers 4.40,
                                  written out with PIL + numpy) -> float32
  score MODEL_DIR PIXELS OUT N C H W [IDS MASK L]
                                  the scripted module on float32 pixel values
                                  (and int64 ids/mask [N,L]) -> float64 raw scores
"""
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image

try:  # only export/score need torch; resize/preprocess start faster without it
    import torch
    _Module = torch.nn.Module
except ImportError:  # pragma: no cover
    torch = None
    _Module = object

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


class TinyTextImage(_Module):
    """logit_scale * cos(image, text) plus a term that sees every pixel."""

    def __init__(self, crop_h: int, crop_w: int):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.image_proj = torch.nn.Linear(48, 8)
        self.text_embed = torch.nn.Embedding(49408, 8)
        with torch.no_grad():
            self.image_proj.weight.copy_(torch.randn(8, 48, generator=g))
            self.image_proj.bias.copy_(torch.randn(8, generator=g))
            self.text_embed.weight.copy_(torch.randn(49408, 8, generator=g))
        self.register_buffer("pattern", torch.randn(3, crop_h, crop_w, generator=g))
        self.logit_scale = torch.nn.Parameter(torch.tensor(4.6052))

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        pooled = torch.nn.functional.adaptive_avg_pool2d(pixel_values, [4, 4]).flatten(1)
        image = self.image_proj(pooled)
        mask = attention_mask.to(image.dtype).unsqueeze(-1)
        text = (self.text_embed(input_ids) * mask).sum(1) / mask.sum(1)
        image = image / image.norm(p=2.0, dim=[-1], keepdim=True)
        text = text / text.norm(p=2.0, dim=[-1], keepdim=True)
        detail = (pixel_values * self.pattern).sum(dim=[1, 2, 3]) * 0.01
        return self.logit_scale.exp() * (image * text).sum(-1) + detail


class TinyAesthetic(_Module):
    """An MLP on pooled pixels; NaN for images whose red channel is black (a
    scorer that fails on some inputs, to test masking)."""

    def __init__(self, crop_h: int, crop_w: int):
        super().__init__()
        g = torch.Generator().manual_seed(2)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(48, 16), torch.nn.GELU(), torch.nn.Linear(16, 1))
        with torch.no_grad():
            for p in self.mlp.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        self.register_buffer("pattern", torch.randn(3, crop_h, crop_w, generator=g))

    def forward(self, pixel_values: torch.Tensor):
        pooled = torch.nn.functional.adaptive_avg_pool2d(pixel_values, [4, 4]).flatten(1)
        score = self.mlp(pooled).squeeze(1) + (pixel_values * self.pattern).mean(dim=[1, 2, 3])
        black = pixel_values[:, 0].amax(dim=[1, 2]) < -1.7
        return torch.where(black, torch.full_like(score, float("nan")), score)


def write(folder, reward, module, inputs, processor, tokenizer_dir):
    os.makedirs(folder, exist_ok=True)
    torch.jit.script(module.eval()).save(os.path.join(folder, "model.pt"))
    meta = {"reward": reward, "inputs": inputs, "image_processor": processor, "max_length": 77,
            "dtype": "float32", "source": {"test": "tiny_reward_models.py"}}
    with open(os.path.join(folder, "reward_model.json"), "w") as f:
        json.dump(meta, f, indent=1)
    if tokenizer_dir:
        tok = os.path.join(folder, "tokenizer")
        os.makedirs(tok, exist_ok=True)
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(tok, name))


def export(out, tokenizer_dir):
    torch.manual_seed(0)
    # PickScore-like: the standard 224 processor.
    standard = {"shortest_edge": 224, "crop_height": 224, "crop_width": 224, "mean": OPENAI_MEAN, "std": OPENAI_STD}
    write(os.path.join(out, "pickscore"), "pickscore", TinyTextImage(224, 224),
          ["pixel_values", "input_ids", "attention_mask"], standard, tokenizer_dir)
    # Aesthetic-like with a non-square crop and other statistics: nothing is hard-wired.
    other = {"shortest_edge": 40, "crop_height": 36, "crop_width": 32, "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}
    write(os.path.join(out, "aesthetic"), "aesthetic", TinyAesthetic(36, 32), ["pixel_values"], other, None)


def read_u8(path, shape):
    return np.fromfile(path, dtype=np.uint8).reshape(shape)


def resize(inp, out, n, c, h, w, oh, ow):
    x = read_u8(inp, (n, c, h, w))
    res = np.zeros((n, c, oh, ow), dtype=np.uint8)
    for i in range(n):
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(x[i, ch]), mode="L")
            res[i, ch] = np.array(img.resize((ow, oh), resample=Image.BICUBIC, reducing_gap=None))
    res.tofile(out)


def preprocess(inp, out, n, h, w, shortest, crop_h, crop_w, mean=OPENAI_MEAN, std=OPENAI_STD):
    x = read_u8(inp, (n, 3, h, w))
    results = []
    for i in range(n):
        img = np.ascontiguousarray(x[i].transpose(1, 2, 0))
        # get_resize_output_image_size(default_to_square=False)
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = shortest, int(shortest * long / short)
        oh, ow = (new_long, new_short) if w <= h else (new_short, new_long)
        a = np.array(Image.fromarray(img).resize((ow, oh), resample=Image.BICUBIC, reducing_gap=None))
        # image_transforms.center_crop
        top, left = (oh - crop_h) // 2, (ow - crop_w) // 2
        if top >= 0 and left >= 0 and top + crop_h <= oh and left + crop_w <= ow:
            a = a[top:top + crop_h, left:left + crop_w]
        else:
            nh, nw = max(crop_h, oh), max(crop_w, ow)
            padded = np.zeros((nh, nw, 3), dtype=a.dtype)
            tp, lp = int(np.ceil((nh - oh) / 2)), int(np.ceil((nw - ow) / 2))
            padded[tp:tp + oh, lp:lp + ow] = a
            top, left = top + tp, left + lp
            a = padded[max(0, top):min(nh, top + crop_h), max(0, left):min(nw, left + crop_w)]
        # rescale (float64 product, float32 result), then normalize in float32
        a = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
        a = (a - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
        results.append(a.transpose(2, 0, 1))
    np.stack(results).astype(np.float32).tofile(out)


def score(model_dir, pixels, out, n, c, h, w, ids=None, mask=None, length=None):
    module = torch.jit.load(os.path.join(model_dir, "model.pt"))
    pv = torch.from_numpy(np.fromfile(pixels, dtype=np.float32).reshape(n, c, h, w))
    with torch.no_grad():
        if ids is None:
            raw = module(pv)
        else:
            i = torch.from_numpy(np.fromfile(ids, dtype=np.int64).reshape(n, length))
            m = torch.from_numpy(np.fromfile(mask, dtype=np.int64).reshape(n, length))
            raw = module(pv, i, m)
    raw.double().numpy().tofile(out)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "export":
        export(args[0], args[1])
    elif cmd == "resize":
        resize(args[0], args[1], *map(int, args[2:8]))
    elif cmd == "preprocess":
        extra = {}
        if len(args) > 8:
            extra = {"mean": json.loads(args[8]), "std": json.loads(args[9])}
        preprocess(args[0], args[1], *map(int, args[2:8]), **extra)
    elif cmd == "score":
        rest = args[7:]
        score(args[0], args[1], args[2], *map(int, args[3:7]),
              *(rest[:2] + [int(rest[2])] if rest else []))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
