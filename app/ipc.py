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

import os
import pickle
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection

# Mesa's software rasteriser (llvmpipe) starts one drawing thread per core in each GL helper.
# On a 2-core machine the actor's and the avatar's helpers then brought 4 extra runnable threads
# to the two cores beside the GUI and tracking threads; with one each the longest GUI stall
# while adapting was 36.3 / 36.9 ms against 43.5 / 45.1 ms with the default (docs/app.md). A
# user's own LP_NUM_THREADS wins; real GPU drivers ignore it.
GL_HELPER_ENV = {"LP_NUM_THREADS": "1"}


def child_env(gl: bool = False) -> dict[str, str]:
    """Environment of a helper: this process's import path, plus :data:`GL_HELPER_ENV` for
    helpers that draw with OpenGL (unless already set)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    if gl:
        for k, v in GL_HELPER_ENV.items():
            env.setdefault(k, v)
    return env


def spawn(module: str, *args: str, gl: bool = False) -> tuple[subprocess.Popen, Connection]:
    """Start ``python -m module FD [ARGS]`` with this process's import path (``gl``: a helper that
    draws, see :func:`child_env`); -> (process, connection)."""
    mine, theirs = socket.socketpair()
    env = child_env(gl)
    proc = subprocess.Popen([sys.executable, "-m", module, str(theirs.fileno()), *args], pass_fds=(theirs.fileno(),),
                            env=env, stdin=subprocess.DEVNULL)
    theirs.close()
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
            proc.wait(2)
