"""A real python-osc UDP server on 127.0.0.1 (port 0) in a thread, recording every datagram as a list of
(address, type tags, arguments) in arrival order."""

from __future__ import annotations

import threading
import time

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer


def type_tags(dgram: bytes) -> str:
    """The OSC type tag string (",sf", ...) of one message datagram."""
    end = dgram.index(b"\0")
    start = (end + 4) & ~3  # the address is padded to a multiple of 4 bytes
    return dgram[start:dgram.index(b"\0", start)].decode()


class _Recording(Dispatcher):
    def __init__(self, sink: list) -> None:
        super().__init__()
        self.sink = sink

    def call_handlers_for_packet(self, data: bytes, client_address):
        msgs = [m.message for m in OscPacket(data).messages]
        self.sink.append([(m.address, type_tags(m.dgram), list(m.params)) for m in msgs])
        return []


class OscReceiver:
    """``with OscReceiver() as rx: ... rx.port ... rx.datagrams``. A blocking (one-thread) server keeps
    datagrams in arrival order (the threading server may hand two datagrams to two threads)."""

    def __init__(self) -> None:
        self.datagrams: list[list[tuple[str, str, list]]] = []
        self.server = BlockingOSCUDPServer(("127.0.0.1", 0), _Recording(self.datagrams))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> OscReceiver:
        self.thread.start()
        return self

    def wait(self, n: int, timeout: float = 10.0) -> None:
        end = time.time() + timeout
        while len(self.datagrams) < n and time.time() < end:
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        time.sleep(0.2)  # the last datagrams in flight
        self.server.shutdown()
        self.server.server_close()
