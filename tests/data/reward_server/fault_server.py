#!/usr/bin/env python3
"""A reward server that misbehaves on request, for remote_reward_test.cpp.

Prints "PORT <n>" once listening on 127.0.0.1 (a free port). Endpoints:
  GET  /health   200 {"status": "ok"}
  GET  /stats    {"score_requests": n, "health_requests": n, "connections": n, "last_request": {...},
                 "requests_per_id": {id: n}} (every /score request that arrived, answered or not)
  POST /control  {"queue": [behaviour, ...], "default": behaviour}: behaviours of the next
                 /score requests (then `default`, initially "ok"); resets the counters
  POST /score    validates the request with protocol.parse_request (400 if invalid), then
                 acts out the next behaviour:
    ok                 scores[i] = mean pixel value (0..255) of image i; components
                       "prompt_length" and "meta_value" (metadata["value"] or null);
                       texts[i] = metadata["text"] (or null); errors[i] = metadata["error"]
    slow:S             sleep S seconds, then ok
    status:C           HTTP C with {"error": ...}
    status:C:RA        HTTP C with header Retry-After: RA
    malformed          HTTP 200 with a body that is not JSON
    nan                HTTP 200 with a NaN literal among the scores
    short              HTTP 200 with one score too few
    wrong_id           HTTP 200 echoing another id
    wrong_type         HTTP 200 with scores as strings
    no_scores          HTTP 200 without "scores"
    close              close the connection without answering
    close_reused       close the connection without answering if it carried an earlier
                       request (a keep-alive connection the server dropped), else ok
    raw:BODY           HTTP 200 with BODY verbatim, after replacing $ID by the request id
                       and $XFF by the byte 0xFF (invalid UTF-8)
    die                exit the process at once (no answer)
"""

import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "scripts", "reward_servers"))
import protocol  # noqa: E402

STATE = {"queue": [], "default": "ok", "score_requests": 0, "health_requests": 0, "last_request": None,
         "requests_per_id": {}}
CLIENTS = set()
LOCK = threading.Lock()


def mean_pixel(data, fmt):
    from PIL import Image

    img = Image.open(io.BytesIO(data), formats=[{"png": "PNG", "jpeg": "JPEG"}[fmt]]).convert("RGB")
    pixels = img.tobytes()
    return sum(pixels) / len(pixels)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        self.requests_on_connection = 0
        with LOCK:
            CLIENTS.add(self.client_address)

    def reply(self, status, body, headers=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (deadline) — expected in the slow cases

    def do_GET(self):  # noqa: N802
        self.requests_on_connection += 1
        if self.path == "/health":
            with LOCK:
                STATE["health_requests"] += 1
            self.reply(200, {"status": "ok", "name": "fault_server"})
        elif self.path == "/stats":
            with LOCK:
                self.reply(200, {k: STATE[k] for k in ("score_requests", "health_requests", "last_request",
                                                       "requests_per_id")}
                           | {"connections": len(CLIENTS)})
        else:
            self.reply(404, {"error": "unknown path"})

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests_on_connection += 1
        if self.path == "/control":
            control = json.loads(body)
            with LOCK:
                STATE["queue"] = list(control.get("queue", []))
                STATE["default"] = control.get("default", "ok")
                STATE["score_requests"] = 0
                STATE["health_requests"] = 0
                STATE["requests_per_id"] = {}
                CLIENTS.clear()
            self.reply(200, {"ok": True})
            return
        if self.path != "/score":
            self.reply(404, {"error": "unknown path"})
            return
        try:
            request = protocol.parse_request(body)
        except protocol.ProtocolError as e:
            self.reply(400, {"error": str(e)})
            return
        with LOCK:
            STATE["score_requests"] += 1
            STATE["requests_per_id"][request.id] = STATE["requests_per_id"].get(request.id, 0) + 1
            behaviour = STATE["queue"].pop(0) if STATE["queue"] else STATE["default"]
            STATE["last_request"] = {"reward": request.reward, "mode": request.mode, "n": len(request),
                                     "image_format": request.image_format, "behaviour": behaviour}
        if behaviour.startswith("raw:"):
            body = behaviour[4:].encode().replace(b"$ID", request.id.encode()).replace(b"$XFF", b"\xff")
            self.reply(200, body)
            return
        parts = behaviour.split(":")
        kind = parts[0]
        if kind == "close_reused":
            kind = "close" if self.requests_on_connection > 1 else "ok"
        if kind == "slow":
            time.sleep(float(parts[1]))
            kind = "ok"
        if kind == "die":
            os._exit(3)
        if kind == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if kind == "status":
            headers = {"Retry-After": parts[2]} if len(parts) > 2 else None
            self.reply(int(parts[1]), {"id": request.id, "error": f"injected HTTP {parts[1]}"}, headers)
            return
        if kind == "malformed":
            self.reply(200, b'{"id": "' + request.id.encode() + b'", "scores": [1, 2')
            return
        n = len(request)
        scores = [mean_pixel(d, request.image_format) for d in request.images]
        reply = {
            "id": request.id,
            "scores": scores,
            "components": {
                "prompt_length": [len(p) for p in request.prompts],
                "meta_value": [m.get("value") if isinstance(m, dict) else None for m in request.metadata],
            },
            "texts": [m.get("text") if isinstance(m, dict) else None for m in request.metadata],
            "errors": [m.get("error") if isinstance(m, dict) else None for m in request.metadata],
        }
        if kind == "nan":
            self.reply(200, json.dumps(reply | {"scores": [float("nan")] * n}).encode())  # NaN: not JSON
            return
        if kind == "short":
            reply["scores"] = scores[:-1]
        elif kind == "wrong_id":
            reply["id"] = request.id + "-other"
        elif kind == "wrong_type":
            reply["scores"] = [str(s) for s in scores]
        elif kind == "no_scores":
            del reply["scores"]
        self.reply(200, reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
