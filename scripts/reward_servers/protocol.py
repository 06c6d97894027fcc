"""flowgrpo reward-server protocol, version 1 (docs/reward_protocol.md): request parsing,
reply building and a small threaded HTTP server. Standard library only; PIL is imported
lazily, by `decode_images`, so that a server can validate requests without it.

A server is a function `handle(request: ScoreRequest) -> dict` passed to `serve()`;
the dict has any of "scores", "components", "texts", "errors" (lists of N entries)
and is checked and completed by `build_reply`.
"""

import base64
import binascii
import io
import json
import math
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOCOL_VERSION = 1
IMAGE_FORMATS = ("png", "jpeg")
MODES = ("train", "eval")
MAX_BODY_BYTES = 1 << 30  # a 64-image chunk of 1024² PNGs is ~200 MB of base64


class ProtocolError(ValueError):
    """A request that does not follow the protocol (answered with HTTP 400)."""


@dataclass
class ScoreRequest:
    id: str
    reward: str
    mode: str  # "train" or "eval"
    image_format: str  # "png" or "jpeg"
    images: list  # raw image bytes (decoded from base64), N entries
    prompts: list  # N strings
    metadata: list  # N JSON values ({} for plain prompts)
    extra: dict = field(default_factory=dict)  # unknown top-level keys, kept for forward compatibility

    def __len__(self):
        return len(self.images)


def parse_request(body: bytes) -> ScoreRequest:
    """Parses and validates a request body; raises ProtocolError naming what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"request is not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"request is a JSON {type(data).__name__}, expected an object")
    version = data.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version!r} is not supported (this server speaks {PROTOCOL_VERSION})")
    for key in ("id", "reward", "mode", "image_format", "images", "prompts", "metadata"):
        if key not in data:
            raise ProtocolError(f"request has no '{key}'")
    for key in ("id", "reward"):
        if not isinstance(data[key], str):
            raise ProtocolError(f"'{key}' must be a string")
    if data["mode"] not in MODES:
        raise ProtocolError(f"'mode' must be one of {MODES}, found {data['mode']!r}")
    if data["image_format"] not in IMAGE_FORMATS:
        raise ProtocolError(f"'image_format' must be one of {IMAGE_FORMATS}, found {data['image_format']!r}")
    for key in ("images", "prompts", "metadata"):
        if not isinstance(data[key], list):
            raise ProtocolError(f"'{key}' must be an array")
    n = len(data["images"])
    for key in ("prompts", "metadata"):
        if len(data[key]) != n:
            raise ProtocolError(f"'{key}' has {len(data[key])} entries for {n} images")
    images = []
    for i, text in enumerate(data["images"]):
        if not isinstance(text, str):
            raise ProtocolError(f"images[{i}] must be a base64 string")
        try:
            images.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as e:
            raise ProtocolError(f"images[{i}] is not valid base64: {e}") from None
    for i, prompt in enumerate(data["prompts"]):
        if not isinstance(prompt, str):
            raise ProtocolError(f"prompts[{i}] must be a string")
    known = {"protocol", "id", "reward", "mode", "image_format", "images", "prompts", "metadata"}
    return ScoreRequest(
        id=data["id"],
        reward=data["reward"],
        mode=data["mode"],
        image_format=data["image_format"],
        images=images,
        prompts=data["prompts"],
        metadata=data["metadata"],
        extra={k: v for k, v in data.items() if k not in known},
    )


def decode_images(request: ScoreRequest):
    """The request's images as RGB PIL images; an image that cannot be decoded is None
    together with its error message: returns (images, errors), N entries each."""
    from PIL import Image  # lazy: the protocol itself does not need PIL

    fmt = {"png": "PNG", "jpeg": "JPEG"}[request.image_format]
    images, errors = [], []
    for i, data in enumerate(request.images):
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
            img.load()
            images.append(img.convert("RGB"))
            errors.append(None)
        except Exception as e:  # noqa: BLE001 - any decoder failure is this sample's error
            images.append(None)
            errors.append(f"images[{i}] is not a readable {request.image_format} image: {e}")
    return images, errors


def _number_or_none(value, where):
    """A finite float, or None (with a reason) for NaN/inf/None."""
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:  # numpy / torch scalars
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{where} is a {type(value).__name__}, expected a number or None") from None
    value = float(value)
    if not math.isfinite(value):
        return None, f"{where} is {value} (not finite)"
    return value, None


def build_reply(request: ScoreRequest, result: dict) -> dict:
    """Checks a handler's result and turns it into a protocol reply.

    `result` keys: "scores" (N numbers or None), "components" ({name: N numbers or None}),
    "texts" (N strings or None), "errors" (N strings or None). Non-finite numbers become
    null: a non-finite score also becomes an error for its sample (JSON has no NaN).
    Raises TypeError/ValueError for a result of the wrong shape (a server bug: HTTP 500).
    """
    n = len(request)
    unknown = set(result) - {"scores", "components", "texts", "errors"}
    if unknown:
        raise ValueError(f"handler returned unknown keys {sorted(unknown)}")

    def per_sample(key):
        values = result.get(key)
        if values is None:
            return None
        values = list(values)
        if len(values) != n:
            raise ValueError(f"handler returned {len(values)} {key} for {n} images")
        return values

    errors = per_sample("errors") or [None] * n
    errors = [None if e is None or e == "" else str(e) for e in errors]
    reply = {"id": request.id}
    scores = per_sample("scores")
    if scores is not None:
        out = []
        for i, s in enumerate(scores):
            value, problem = _number_or_none(s, f"scores[{i}]")
            if problem and errors[i] is None:
                errors[i] = problem
            out.append(value)
        reply["scores"] = out
    texts = per_sample("texts")
    if texts is not None:
        reply["texts"] = [None if t is None else str(t) for t in texts]
    components = result.get("components") or {}
    if components:
        reply["components"] = {}
        for name, values in components.items():
            values = list(values)
            if len(values) != n:
                raise ValueError(f"handler returned {len(values)} values of component {name!r} for {n} images")
            reply["components"][str(name)] = [_number_or_none(v, f"{name}[{i}]")[0] for i, v in enumerate(values)]
    reply["errors"] = errors
    return reply


def encode_json(value) -> bytes:
    # allow_nan=False: NaN is not JSON; build_reply has already replaced it by null.
    return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")


class RewardRequestHandler(BaseHTTPRequestHandler):
    """GET /health -> 200 {"status": "ok", ...}; POST /score -> a protocol reply.
    Status codes: 400 malformed request (not retried by the client), 413 body too large,
    404 unknown path, 500 handler failure (retried by the client), 503 not ready."""

    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection
    server_version = "flowgrpo-reward-server/1"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        if getattr(self.server, "verbose", False):
            sys.stderr.write("[reward-server] %s - %s\n" % (self.address_string(), format % args))

    def send_json(self, status, value, headers=None):
        body = encode_json(value)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ProtocolError(f"request body of {length} bytes is larger than {MAX_BODY_BYTES}")
        return self.rfile.read(length)

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.rstrip("/").endswith("/health") or self.path == "/health":
            ready = self.server.ready.is_set()
            self.send_json(200 if ready else 503, {"status": "ok" if ready else "loading", "name": self.server.name})
        else:
            self.send_json(404, {"error": f"unknown path {self.path}"})

    def do_POST(self):  # noqa: N802
        if not self.path.rstrip("/").endswith("/score"):
            self.send_json(404, {"error": f"unknown path {self.path}; POST /score"})
            return
        try:
            request = parse_request(self.read_body())
        except ProtocolError as e:
            self.send_json(400, {"error": str(e)})
            return
        if not self.server.ready.is_set():
            self.send_json(503, {"id": request.id, "error": "model still loading"}, {"Retry-After": "5"})
            return
        try:
            reply = build_reply(request, self.server.handle(request))
        except Exception as e:  # noqa: BLE001 - a failed batch is a 500, which the client retries
            traceback.print_exc()
            self.send_json(500, {"id": request.id, "error": f"{type(e).__name__}: {e}"})
            return
        self.send_json(200, reply)


class RewardServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handle, name, verbose=False, lock=True):
        super().__init__(address, RewardRequestHandler)
        self.name = name
        self.verbose = verbose
        self.ready = threading.Event()
        # Models are rarely thread-safe (and one GPU runs one batch at a time anyway):
        # serialise the handler unless it says it can run concurrently.
        if lock:
            mutex = threading.Lock()

            def locked(request):
                with mutex:
                    return handle(request)

            self.handle = locked
        else:
            self.handle = handle


def serve(handle, name, host="127.0.0.1", port=0, verbose=False, load=None, lock=True):
    """Runs a reward server until interrupted. Prints "PORT <n>" on stdout once listening
    (port 0 picks a free one). `load`, if given, runs before the server reports ready
    (GET /health answers 503 until then), so slow model loading does not block binding."""
    server = RewardServer((host, port), handle, name, verbose=verbose, lock=lock)
    print(f"PORT {server.server_address[1]}", flush=True)
    print(f"[{name}] listening on http://{host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    if load is None:
        server.ready.set()
    else:

        def run_load():
            try:
                load()
            except BaseException:  # noqa: BLE001 - a server without its model must not linger
                traceback.print_exc()
                os._exit(1)
            server.ready.set()
            print(f"[{name}] ready", file=sys.stderr, flush=True)

        threading.Thread(target=run_load, daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
