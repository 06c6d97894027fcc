"""A scoring function for generic_server.py in tests (remote_reward_test.cpp).

score = mean red channel / 255; components: mean green / 255 and the prompt length;
a prompt "fail" gets a per-sample error instead of a score."""


def score(images, prompts, metadata, mode="train"):
    scores, red, green, length, errors = [], [], [], [], []
    for image, prompt in zip(images, prompts):
        if image is None or prompt == "fail":
            scores.append(None)
            green.append(None)
            errors.append("toy scorer refuses prompt 'fail'" if prompt == "fail" else None)
        else:
            pixels = list(image.getdata())
            scores.append(sum(p[0] for p in pixels) / (255.0 * len(pixels)))
            green.append(sum(p[1] for p in pixels) / (255.0 * len(pixels)))
            errors.append(None)
        length.append(len(prompt))
    components = {"green": green, "prompt_length": length}
    if mode == "eval":
        components["eval_only"] = [1.0] * len(prompts)
    return {"scores": scores, "components": components, "errors": errors}


def geneval(images, prompts, metadata, mode="train"):
    """GenEval-shaped replies: partial credit 0.5, strict_accuracy 1; accuracy (0) only in
    eval mode, null in train mode (as a server that skips it when only_strict is set)."""
    n = len(prompts)
    return {
        "scores": [0.5] * n,
        "components": {"strict_accuracy": [1.0] * n, "accuracy": [0.0 if mode == "eval" else None] * n},
    }
