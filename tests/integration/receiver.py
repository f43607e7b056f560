"""A webhook receiver for delivery tests: a small threaded HTTP server on this machine that
checks each request's signature the way a receiver's own code would, and can answer errors,
be cut off in the middle of a request, be stopped and be started again on the same port."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Arrival:
    """One request as the receiver read it."""

    notification_id: str
    body: dict[str, Any]
    signed: bool
    header_id: str


@dataclass
class Receiver:
    """`mode`: `ok` answers 200, `fail` answers 503, `die` reads the request and stops the
    server without answering (a receiver killed mid-delivery)."""

    secret: str = ""
    mode: str = "ok"
    arrivals: list[Arrival] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                with receiver._lock:
                    receiver.arrivals.append(Arrival(
                        body["id"], body, receiver.signed(self.headers["Loyalty-Signature"], raw),
                        self.headers["Loyalty-Notification-Id"]))
                    mode = receiver.mode
                if mode == "die":
                    receiver.mode = "down"
                    threading.Thread(target=receiver.stop).start()
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(200 if mode == "ok" else 503)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def signed(self, header: str, raw: bytes) -> bool:
        """The check a receiver makes: HMAC-SHA256 of "<t>.<body>" with its secret."""
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + raw,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])

    def ids(self) -> list[str]:
        with self._lock:
            return [arrival.notification_id for arrival in self.arrivals]
