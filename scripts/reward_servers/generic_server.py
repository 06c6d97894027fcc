#!/usr/bin/env python3
"""Serves any Python scoring function over the flowgrpo reward protocol.

    python3 scripts/reward_servers/generic_server.py --port 18090 my_rewards:score
    python3 scripts/reward_servers/generic_server.py --port 18090 path/to/file.py:score

The function is called as `score(images, prompts, metadata)` — or with `mode=` too if it
takes a `mode` parameter ("train" or "eval") — where `images` is a list of RGB PIL
images (None where an image could not be decoded; such samples are reported as errors
whatever the function returns), and returns a dict with "scores" (N numbers or None)
and optionally "components" ({name: N numbers or None}), "texts" (N strings or None),
"errors" (N strings or None), or just a list of N scores. An exception fails the whole
request with HTTP 500 (the client retries it).
"""

import argparse
import importlib
import importlib.util
import inspect
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402


def load_function(spec: str):
    """'module:function' (importable, e.g. with --pythonpath) or 'path/to/file.py:function'."""
    if ":" not in spec:
        raise SystemExit(f"expected MODULE:FUNCTION or FILE.py:FUNCTION, found {spec!r}")
    target, name = spec.rsplit(":", 1)
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        module_spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        if module_spec is None or module_spec.loader is None:
            raise SystemExit(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(target)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise SystemExit(f"{target} has no function {name!r}")
    return fn


def make_handler(fn):
    takes_mode = "mode" in inspect.signature(fn).parameters

    def handle(request: protocol.ScoreRequest):
        images, decode_errors = protocol.decode_images(request)
        kwargs = {"mode": request.mode} if takes_mode else {}
        result = fn(images, request.prompts, request.metadata, **kwargs)
        if not isinstance(result, dict):
            result = {"scores": list(result)}
        errors = list(result.get("errors") or [None] * len(request))
        if len(errors) != len(request):
            raise ValueError(f"score function returned {len(errors)} errors for {len(request)} images")
        result = dict(result)
        result["errors"] = [d or e for d, e in zip(decode_errors, errors)]
        return result

    return handle


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="MODULE:FUNCTION or FILE.py:FUNCTION")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed as 'PORT n')")
    parser.add_argument("--pythonpath", action="append", default=[], help="directories to add to sys.path")
    parser.add_argument("--name", default=None, help="server name reported by /health")
    parser.add_argument("--concurrent", action="store_true", help="allow concurrent calls of the function")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()
    sys.path[:0] = [os.path.abspath(p) for p in args.pythonpath]
    fn = load_function(args.function)
    protocol.serve(make_handler(fn), args.name or args.function, args.host, args.port, verbose=args.verbose,
                   lock=not args.concurrent)


if __name__ == "__main__":
    main()
