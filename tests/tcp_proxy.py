"""A TCP forwarder between a process and PostgreSQL that a test can cut: the way to put a worker
'off the network' on one machine. After `cut()` open connections hang (bytes are swallowed, as on a
dead link) and new connections are refused."""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.cut_event = threading.Event()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut_event.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_event.is_set():
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.cut_event.is_set():
                continue  # a dead link: what is sent never arrives, nobody is told
            try:
                dst.sendall(data)
            except OSError:
                return

    def cut(self) -> None:
        self.cut_event.set()
        self.listener.close()

    def close(self) -> None:
        self.cut()
        for sock in self._socks:
            try:
                sock.close()
            except OSError:
                pass
