"""The load's fake outside world on loopback: an SMS and e-mail provider, and a dealer's webhook
receiver. Standard library only; each runs as its own process so that a fault drill can stop or
hang it:

    python -m bench.traffic.fakes --port 8792 --record var/load/provider.jsonl
    python -m bench.traffic.fakes --port 8793 --record var/load/receiver.jsonl

Every accepted message is one JSON line in the record (``kind`` and ``id`` first):

- ``POST /sms`` ``{"reference", "phone", "template"}`` → ``{"kind": "sms", "id": reference}``. The
  reference is the delivery's own (``loanportal-delivery-<id>``), as Alibaba Cloud's ``OutId``.
- ``GET /sms/sent?reference=…`` → ``{"sent": true|false}``: the provider's send records (Alibaba
  Cloud's QuerySendDetails), which the portal asks before trying a delivery again.
- ``POST /email`` ``{"message_id", "to"}`` → ``{"kind": "email", "id": message_id}``.
- ``POST /hooks/<anything>`` → ``{"kind": "webhook", "id": Webhook-Id header}``, answered 204.

A message sent twice shows as two lines with the same ``kind`` and ``id``
(``duplicates(record)``). The record is read back when the process starts again, so "was it sent"
survives a restart of the fake provider.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class Record:
    """The append-only record of accepted messages, and the set of SMS references in it."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.sms: set[str] = set()
        path.parent.mkdir(parents=True, exist_ok=True)
        for line in read_lines(path):
            if line.get("kind") == "sms":
                self.sms.add(line["id"])
        self.handle = path.open("a", encoding="utf-8")

    def add(self, kind: str, ident: str, **more: object) -> None:
        line = json.dumps({"kind": kind, "id": ident, "t": time.time(), **more}, ensure_ascii=False)
        with self.lock:
            if kind == "sms":
                self.sms.add(ident)
            self.handle.write(line + "\n")
            self.handle.flush()


def read_lines(path: Path) -> Iterable[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def duplicates(lines: Iterable[dict]) -> dict[str, dict[str, int]]:
    """{kind: {id: times accepted}} for every id accepted more than once, and nothing else."""
    counts = Counter((line["kind"], line["id"]) for line in lines)
    found: dict[str, dict[str, int]] = {}
    for (kind, ident), times in counts.items():
        if times > 1:
            found.setdefault(kind, {})[ident] = times
    return found


def make_handler(record: Record) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per message is in the record already

        def _answer(self, status: int, body: dict | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            if data:
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/sms/sent":
                reference = parse_qs(parts.query).get("reference", [""])[0]
                self._answer(200, {"sent": reference in record.sms})
            elif parts.path == "/health":
                self._answer(200, {"ok": True})
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            raw = self._body()
            if path.startswith("/hooks/"):
                ident = self.headers.get("Webhook-Id", "")
                record.add("webhook", ident, endpoint=path, bytes=len(raw))
                self._answer(204)
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._answer(400, {"error": "not JSON"})
                return
            if path == "/sms" and body.get("reference"):
                record.add(
                    "sms", body["reference"], phone=body.get("phone", ""), template=body.get("template", "")
                )
                self._answer(200, {"accepted": body["reference"]})
            elif path == "/email" and body.get("message_id"):
                record.add("email", body["message_id"], to=body.get("to", ""))
                self._answer(200, {"accepted": body["message_id"]})
            else:
                self._answer(400, {"error": "what is this"})

    return Handler


def make_server(port: int, record_path: Path) -> ThreadingHTTPServer:
    """The server on 127.0.0.1:``port`` (0: any free port, ``server.server_port``)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(Record(record_path)))
    server.daemon_threads = True
    return server


def serve(port: int, record_path: Path) -> None:
    make_server(port, record_path).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True)
    options = parser.parse_args()
    serve(options.port, options.record)


if __name__ == "__main__":
    main()
