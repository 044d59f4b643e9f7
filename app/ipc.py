"""Messages between the app and its helper processes (adaptation, avatar drawing).

A helper is ``python -m MODULE FD`` -- a plain subprocess, so it never re-imports the caller's
``__main__`` (unlike multiprocessing's spawn) -- talking over a socket pair. Messages are
pickled; numpy arrays travel out of band (pickle protocol 5): the socket writes them straight
from their memory and releases the GIL meanwhile, instead of one big in-band copy made while
holding it (a 30 MB avatar took ~20 ms of GIL that way, a stall the GUI felt). Never send
torch tensors: torch registers shared-memory reductions that need multiprocessing's resource
sharer; convert them to numpy first.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

# Helpers that draw with OpenGL (the synthetic actor, the avatar view) get two settings:
# * LP_NUM_THREADS=1: Mesa's software rasteriser (llvmpipe) otherwise starts one drawing thread
#   per core in each helper, 4 extra runnable threads on a 2-core machine beside the GUI and
#   tracking threads (longest GUI stall while adapting 36.3 / 36.9 ms with one, 43.5 / 45.1 ms
#   with the default); real GPU drivers ignore it.
# * ROOMFIT_HELPER_NICE=5: they yield to the GUI and tracking threads when the cores are busy
#   (three window runs: longest stall over all phases 36.9 ms, against 50.4-58.7 ms in three of
#   six runs at the same priority; window FPS while adapting 28.4-29.4 against 29.3-29.9).
# A user's own values win. Measurements: docs/app.md, session 4.
GL_HELPER_ENV = {"LP_NUM_THREADS": "1", "ROOMFIT_HELPER_NICE": "5"}


def child_env(gl: bool = False) -> dict[str, str]:
    """Environment of a helper: this process's import path, plus :data:`GL_HELPER_ENV` for
    helpers that draw with OpenGL (unless already set)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    if gl:
        for k, v in GL_HELPER_ENV.items():
            env.setdefault(k, v)
    return env


def lower_helper_priority() -> None:
    """In a drawing helper: lower its priority by ``ROOMFIT_HELPER_NICE`` (see :data:`GL_HELPER_ENV`)."""
    try:
        n = int(os.environ.get("ROOMFIT_HELPER_NICE", "0") or 0)
    except ValueError:  # a typo must not stop the helper
        n = 0
    if n > 0 and hasattr(os, "nice"):
        os.nice(n)


def spawn(module: str, *args: str, gl: bool = False, stdin: bytes | None = None
          ) -> tuple[subprocess.Popen, Connection]:
    """Start ``python -m module FD [ARGS]`` with this process's import path (``gl``: a helper that
    draws, see :func:`child_env`; ``stdin``: bytes the helper reads from its standard input);
    -> (process, connection)."""
    mine, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-m", module, str(theirs.fileno()), *args], pass_fds=(theirs.fileno(),),
                            env=child_env(gl), stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE)
    theirs.close()
    if stdin is not None:
        proc.stdin.write(stdin)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    return proc, Connection(mine.detach())


def child_connection() -> Connection:
    """In the helper: the connection whose descriptor is ``sys.argv[1]``."""
    return Connection(int(sys.argv[1]))


def send(conn: Connection, obj) -> None:
    """One message: the pickle without its large buffers, then each buffer as it is."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    conn.send_bytes(struct.pack("<I", len(buffers)) + head)
    for b in buffers:
        conn.send_bytes(b.raw())


def recv(conn: Connection):
    """The next message (arrays come back writable)."""
    data = conn.recv_bytes()
    (n,) = struct.unpack_from("<I", data)
    buffers = [bytearray(conn.recv_bytes()) for _ in range(n)]
    return pickle.loads(memoryview(data)[4:], buffers=buffers)


def stop(proc: subprocess.Popen | None, conn: Connection | None, goodbye: Callable[[Connection], None] | None = None,
         kill: bool = False, timeout: float = 5.0) -> None:
    """End a helper: ``goodbye(conn)`` (default: send ``("close",)``; skipped with ``kill``), close
    the connection, reap the process, killing it if it does not exit within ``timeout`` s."""
    if conn is not None:
        if not kill:
            try:
                (goodbye or (lambda c: send(c, ("close",))))(conn)
            except OSError:
                pass
        conn.close()
    if proc is not None:
        try:
            if kill:
                proc.kill()
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:  # never raise out of a shutdown (it killed a tracking thread)
                log.warning("helper %s did not exit within 5 s of SIGKILL (a loaded machine?)", proc.args)
