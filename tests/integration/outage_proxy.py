"""A TCP proxy in front of the database, in the state the test sets: `forward` (passes bytes
both ways), `down` (refuses connections and cuts the open ones), `hung` (accepts connections
and passes nothing, like a server that froze), and `forward` again (the database is back)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

FORWARD, DOWN, HUNG = "forward", "down", "hung"
TICK = 0.05  # seconds between looks at the state


class _Link:
    """One client connection and, unless it arrived while hung, its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class OutageProxy:
    """Listens on 127.0.0.1:`port` and passes connections on to `upstream` as the state says.
    `faults` counts the outages and hangs injected."""

    def __init__(self, upstream: tuple[str, int], *, mode: str = FORWARD) -> None:
        self.upstream = upstream
        self.mode = mode
        self.faults = 0
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._stopped = threading.Event()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port: int = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._thread = threading.Thread(target=self._accepting, name="outage-proxy", daemon=True)

    def start(self) -> OutageProxy:
        with self._lock:
            self._set_listener()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        with self._lock:
            self.mode = DOWN
            self._set_listener()
        self._cut(lambda link: True)

    def forward(self) -> None:
        """The database is there: new and open connections pass bytes again; connections
        accepted while hung (never passed on) are cut."""
        with self._lock:
            self.mode = FORWARD
            self._set_listener()
        self._cut(lambda link: link.upstream is None)

    def down(self) -> None:
        """The database is away: new connections are refused, open ones are cut."""
        with self._lock:
            self.faults += self.mode != DOWN
            self.mode = DOWN
            self._set_listener()
        self._cut(lambda link: True)

    def hang(self) -> None:
        """The database froze: connections are accepted, nothing passes either way."""
        with self._lock:
            self.faults += self.mode != HUNG
            self.mode = HUNG
            self._set_listener()

    def _cut(self, which: Callable[[_Link], bool]) -> None:
        with self._lock:
            cut = [link for link in self._links if which(link)]
            self._links = [link for link in self._links if link not in cut]
        for link in cut:
            link.close()

    def _set_listener(self) -> None:
        """Listen unless down (then connections are refused); on the same port when back."""
        if self.mode == DOWN:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        elif self._listener is None:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            listener.settimeout(TICK)
            self._listener = listener

    def _accepting(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(TICK)
                continue
            try:
                client, _ = listener.accept()
            except OSError:  # a timeout, or the listener closed by `down`
                continue
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        client.settimeout(None)
        upstream = None
        if self.mode == FORWARD:
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                return
        link = _Link(client, upstream)
        with self._lock:
            self._links.append(link)
        threading.Thread(target=self._pump, args=(link,), daemon=True).start()

    def _pump(self, link: _Link) -> None:
        """Pass bytes both ways while forwarding; hold everything while hung."""
        if link.upstream is None:
            link.closed.wait()
            return
        peer = {link.client: link.upstream, link.upstream: link.client}
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                selector.register(sock, selectors.EVENT_READ)
            while not link.closed.is_set():
                if self.mode != FORWARD:
                    time.sleep(TICK)
                    continue
                try:
                    for key, _ in selector.select(TICK):
                        sock = key.fileobj
                        assert isinstance(sock, socket.socket)
                        data = sock.recv(65536)
                        if not data:
                            raise ConnectionResetError("one side closed")
                        peer[sock].sendall(data)
                except (OSError, ValueError):
                    break
        self._cut(lambda other: other is link)


@contextmanager
def proxied(host: str, port: int, *, mode: str = FORWARD) -> Iterator[OutageProxy]:
    """An `OutageProxy` to `host:port`, running for the `with` block."""
    proxy = OutageProxy((host, port), mode=mode).start()
    try:
        yield proxy
    finally:
        proxy.stop()
