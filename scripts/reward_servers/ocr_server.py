#!/usr/bin/env python3
"""OCR reward server (flowgrpo protocol, docs/reward_protocol.md) on PaddleOCR.

Returns, per image, the recognised text as flow_grpo/ocr.py reads it: PaddleOCR 2.9.1
(`lang="en"`, no angle classifier, CPU by default), the text of every detected line
with confidence > 0, concatenated in PaddleOCR's order. The reward itself
(1 − edit distance / target length, against the prompt's quoted text) is computed by
the C++ `ocr` reward (src/rewards/ocr_score.cpp), so the formula lives in one place.

    pip install -r scripts/reward_servers/requirements-ocr.txt
    python3 scripts/reward_servers/ocr_server.py --port 18087 [--gpu]

Differences from the reference: an image PaddleOCR fails on is reported as a per-sample
error (the sample is masked), where flow_grpo scores it 0.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

OCR = None


def load(use_gpu: bool):
    global OCR
    from paddleocr import PaddleOCR  # heavy import: only in this script

    OCR = PaddleOCR(use_angle_cls=False, lang="en", use_gpu=use_gpu, show_log=False)


def recognise(image) -> str:
    import numpy as np

    result = OCR.ocr(np.array(image), cls=False)
    lines = result[0] if result else None
    if not lines:
        return ""
    # Each line: [box, (text, confidence)]; the reference keeps lines with confidence > 0.
    return "".join(text for _, (text, confidence) in lines if confidence > 0)


def handle(request: protocol.ScoreRequest):
    images, errors = protocol.decode_images(request)
    texts = []
    for i, image in enumerate(images):
        if image is None:
            texts.append(None)
            continue
        try:
            texts.append(recognise(image))
        except Exception as e:  # noqa: BLE001 - one image's failure masks that sample only
            texts.append(None)
            errors[i] = f"PaddleOCR failed on image {i}: {type(e).__name__}: {e}"
    return {"texts": texts, "errors": errors}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18087)
    parser.add_argument("--gpu", action="store_true", help="run PaddleOCR on the GPU (reference: CPU)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    protocol.serve(handle, "ocr (PaddleOCR)", args.host, args.port, verbose=args.verbose,
                   load=lambda: load(args.gpu))


if __name__ == "__main__":
    main()
