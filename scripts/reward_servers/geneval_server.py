#!/usr/bin/env python3
"""GenEval reward server (flowgrpo protocol, docs/reward_protocol.md).

Detector and rules as the reference GenEval reward server used by flow_grpo
(../shared/reference/flow_grpo.md §5): mmdetection Mask2Former Swin-S (COCO), confidence
0.3 (0.9 for the "counting" tag), at most 16 objects per class, no NMS; colours by
zero-shot CLIP ViT-L-14 (OpenAI weights) on each object's masked crop over grey;
positions with a 0.1 margin.

Reply per image:
  scores                 partial credit (the training reward): mean over clause credits —
                         count 1 − |n_req − n| / n_req, colour 1 − |n_req − n_colour| / n_req,
                         position 0/1. Quirk kept from the reference: a failed position
                         check appends 0 *and* 1.
  strict_accuracy        1/0: exact counts, colours and positions (the server's strict_correct)
  accuracy               1/0: GenEval's official correctness (≥ counts, excludes); eval mode
                         only — null in train mode (the reference's only_strict)
  <tag>_strict_accuracy, <tag>_accuracy
                         the same for the image's GenEval tag, null for other tags (the
                         reference sends −10 there)

    pip install -r scripts/reward_servers/requirements-geneval.txt
    python3 scripts/reward_servers/geneval_server.py --port 18085 \
        --config mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.py \
        --checkpoint mask2former_swin-s-p4-w7-224_lsj_8x2_50e_coco.pth

The config ships with mmdetection 2.x (configs/mask2former/); the checkpoint is the one
GenEval's download script fetches. Metadata must be GenEval's (tag, include, exclude).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white")
THRESHOLD = 0.3
COUNTING_THRESHOLD = 0.9
MAX_OBJECTS = 16
POSITION_MARGIN = 0.1
# COCO's 80 classes in the detector's order, named as GenEval's object_names.txt.
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "computer mouse", "tv remote",
    "computer keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)


class GenEval:
    def __init__(self, config, checkpoint, device, class_file=None):
        import numpy as np  # noqa: F401 - fail early if missing
        import open_clip
        import torch
        from mmdet.apis import inference_detector, init_detector

        self.torch = torch
        self.device = device
        self.inference_detector = inference_detector
        self.detector = init_detector(config, checkpoint, device=device)
        self.clip, _, self.preprocess = open_clip.create_model_and_transforms("ViT-L-14", pretrained="openai",
                                                                             device=device)
        self.clip.eval()
        self.tokenizer = open_clip.get_tokenizer("ViT-L-14")
        if class_file:
            with open(class_file) as f:
                self.classes = [line.strip() for line in f if line.strip()]
        else:
            self.classes = list(COCO_CLASSES)
        if len(self.classes) != 80:
            raise ValueError(f"expected 80 COCO class names, found {len(self.classes)}")
        self.colour_weights = {}

    # ------------------------------------------------------------------ detection
    def detect(self, images, metadata):
        import numpy as np

        results = self.inference_detector(self.detector, [np.array(im) for im in images])
        detections = []
        for result, meta in zip(results, metadata):
            boxes, masks = (result[0], result[1]) if isinstance(result, tuple) else (result, None)
            threshold = COUNTING_THRESHOLD if meta.get("tag") == "counting" else THRESHOLD
            found = {}
            for index, name in enumerate(self.classes):
                order = np.argsort(-boxes[index][:, 4], kind="stable")
                order = [int(k) for k in order if boxes[index][k, 4] > threshold][:MAX_OBJECTS]
                if order:  # most confident first; no NMS (the reference's threshold 1.0)
                    found[name] = [(boxes[index][k], None if masks is None else masks[index][k]) for k in order]
            detections.append(found)
        return detections

    # ------------------------------------------------------------------ colour
    def colour_classifier(self, classname):
        torch = self.torch
        if classname not in self.colour_weights:
            templates = [f"a photo of a {{}} {classname}", f"a photo of a {{}}-colored {classname}",
                         "a photo of a {} object"]
            with torch.no_grad():
                weights = []
                for colour in COLORS:
                    tokens = self.tokenizer([t.format(colour) for t in templates]).to(self.device)
                    emb = self.clip.encode_text(tokens)
                    emb = emb / emb.norm(dim=-1, keepdim=True)
                    mean = emb.mean(dim=0)
                    weights.append(mean / mean.norm())
                self.colour_weights[classname] = torch.stack(weights, dim=1)
        return self.colour_weights[classname]

    def colours(self, image, objects, classname):
        from PIL import Image

        torch = self.torch
        grey = Image.new("RGB", image.size, color="#999")
        crops = []
        for box, mask in objects:
            crop = image if mask is None else Image.composite(image, grey, Image.fromarray(mask))
            crops.append(self.preprocess(crop.crop(tuple(float(v) for v in box[:4]))))
        with torch.no_grad():
            feats = self.clip.encode_image(torch.stack(crops).to(self.device))
            feats = feats / feats.norm(dim=-1, keepdim=True)
            logits = feats @ self.colour_classifier(classname)
        return [COLORS[int(k)] for k in logits.argmax(dim=1)]

    # ------------------------------------------------------------------ rules
    @staticmethod
    def relations(obj_a, obj_b):
        """Relations of A relative to B ("left of", "right of", "above", "below"), with the
        margin proportional to both objects' sizes."""
        import numpy as np

        boxes = np.array([obj_a[0][:4], obj_b[0][:4]], dtype=np.float64).reshape(2, 2, 2)
        centre_a, centre_b = boxes.mean(axis=1)
        size_a, size_b = np.abs(boxes[:, 1] - boxes[:, 0])
        offset = centre_a - centre_b
        revised = np.maximum(np.abs(offset) - POSITION_MARGIN * (size_a + size_b), 0) * np.sign(offset)
        if np.all(np.abs(revised) < 1e-3):
            return set()
        dx, dy = revised / np.linalg.norm(offset)
        out = set()
        if dx < -0.5:
            out.add("left of")
        if dx > 0.5:
            out.add("right of")
        if dy < -0.5:
            out.add("above")
        if dy > 0.5:
            out.add("below")
        return out

    def position_ok(self, objects, targets, relation):
        return all(relation in self.relations(obj, target) for obj in objects for target in targets)

    def partial_and_strict(self, image, found, meta):
        """The training reward (mean clause credit) and strict correctness."""
        credits, strict, groups = [], True, []
        for clause in meta.get("include", []):
            name, count = clause["class"], clause["count"]
            objects = found.get(name, [])
            matched = True
            credits.append(1 - abs(count - len(objects)) / count)
            if len(objects) != count:
                strict = matched = False
                if "color" in clause or "position" in clause:
                    credits.append(0.0)
            else:
                if "color" in clause:
                    n_colour = self.colours(image, objects, name).count(clause["color"])
                    credits.append(1 - abs(count - n_colour) / count)
                    if n_colour != count:
                        strict = matched = False
                if "position" in clause and matched:
                    relation, target = clause["position"]
                    if groups[target] is None:
                        strict = matched = False
                        credits.append(0.0)
                    else:
                        if not self.position_ok(objects, groups[target], relation):
                            strict = matched = False
                            credits.append(0.0)
                        credits.append(1.0)  # reference quirk: appended whether or not it failed
            groups.append(objects if matched else None)
        return (sum(credits) / len(credits) if credits else 0.0), strict

    def official(self, image, found, meta):
        """GenEval's correctness: at least `count` objects (the most confident ones judged for
        colour and position), and fewer than `count` of every excluded class."""
        correct, groups = True, []
        for clause in meta.get("include", []):
            name, count = clause["class"], clause["count"]
            objects = found.get(name, [])[:count]
            matched = len(objects) >= count
            if matched and "color" in clause:
                matched = self.colours(image, objects, name).count(clause["color"]) >= count
            if matched and "position" in clause:
                relation, target = clause["position"]
                matched = groups[target] is not None and self.position_ok(objects, groups[target], relation)
            correct = correct and matched
            groups.append(objects if matched else None)
        for clause in meta.get("exclude", []):
            if len(found.get(clause["class"], [])) >= clause["count"]:
                correct = False
        return correct

    # ------------------------------------------------------------------ protocol
    def __call__(self, request: protocol.ScoreRequest):
        images, errors = protocol.decode_images(request)
        n = len(request)
        scores, strict, accuracy = [None] * n, [None] * n, [None] * n
        per_tag = {f"{t}_{k}": [None] * n for t in TAGS for k in ("strict_accuracy", "accuracy")}
        ok = []
        for i, (image, meta) in enumerate(zip(images, request.metadata)):
            if image is None:
                continue
            if not isinstance(meta, dict) or meta.get("tag") not in TAGS or "include" not in meta:
                errors[i] = f"metadata of image {i} is not GenEval metadata (tag, include, exclude)"
                continue
            ok.append(i)
        if ok:
            found_all = self.detect([images[i] for i in ok], [request.metadata[i] for i in ok])
            for i, found in zip(ok, found_all):
                meta = request.metadata[i]
                try:
                    score, is_strict = self.partial_and_strict(images[i], found, meta)
                    scores[i], strict[i] = score, float(is_strict)
                    per_tag[f"{meta['tag']}_strict_accuracy"][i] = strict[i]
                    if request.mode == "eval":
                        accuracy[i] = float(self.official(images[i], found, meta))
                        per_tag[f"{meta['tag']}_accuracy"][i] = accuracy[i]
                except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as e:
                    scores[i] = strict[i] = accuracy[i] = None
                    errors[i] = f"malformed GenEval metadata for image {i}: {type(e).__name__}: {e}"
        return {"scores": scores, "errors": errors,
                "components": {"strict_accuracy": strict, "accuracy": accuracy, **per_tag}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18085)
    parser.add_argument("--config", required=True, help="mmdetection Mask2Former Swin-S COCO config (.py)")
    parser.add_argument("--checkpoint", required=True, help="its weights (.pth)")
    parser.add_argument("--class-names", default=None, help="GenEval's object_names.txt (default: built in)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    model = {}

    def load():
        model["geneval"] = GenEval(args.config, args.checkpoint, args.device, args.class_names)

    protocol.serve(lambda request: model["geneval"](request), "geneval", args.host, args.port,
                   verbose=args.verbose, load=load)


if __name__ == "__main__":
    main()
