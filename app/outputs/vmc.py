"""VMC protocol sender (OSC over UDP, python-osc): the tracked face to VSeeFace, VMagicMirror, Warudo, ...

Per tracked frame one OSC bundle, in this order (floats always typed ``f``, never ``i``)::

    /VMC/Ext/Blend/Val   ,sf        for the 15 VRM 0 presets (table below) [+ 52 ARKit names, perfect sync]
    /VMC/Ext/Blend/Apply ,
    /VMC/Ext/Bone/Pos    ,sfffffff  "Head" px py pz qx qy qz qw
    /VMC/Ext/Root/Pos    ,sfffffff  "root" 0 0 0 0 0 0 1
    /VMC/Ext/OK          ,i         1
    /VMC/Ext/T           ,f         seconds (the frame's time stamp)

While no face is found only ``/VMC/Ext/OK ,i 0`` goes out (a plain message per frame).

VRM 0 presets from the ARKit-named weights (j = jawOpen, w = max(mouthSmileLeft, mouthSmileRight),
p = mouthPucker, b = max(browDownLeft, browDownRight), u = browInnerUp), each clipped to [0, 1]:

    Blink_L = eyeBlinkLeft   Blink_R = eyeBlinkRight
    A = j (1 - max(p, w))    I = w (1 - j)    U = p (1 - j)    E = min(j, w)    O = min(j, p)
    Joy = max(0, 2 w - 1)    Fun = w    Angry = b    Sorrow = u (1 - w) (1 - j)
    LookLeft = mean(eyeLookOutLeft, eyeLookInRight)   LookRight = mean(eyeLookInLeft, eyeLookOutRight)
    LookUp = mean(eyeLookUpLeft, eyeLookUpRight)      LookDown = mean(eyeLookDownLeft, eyeLookDownRight)

The Look* presets come from the gaze (:mod:`models.gaze`; the avatar's left is the subject's left, the
image's right in an unmirrored view); a VRM with expression-type lookAt turns its eyes with them.

Head rotation: H's ``R = Rz(rz) Ry(ry) Rx(rx)`` acts in the model frame (x image-right = the
subject's left, y down, z away from the camera). Unity's avatar frame is left-handed (x the
avatar's right, y up, z forward); the subject faces the camera, so unity = -model on every axis,
and ``R_unity = (-I) R (-I) = R``: the same matrix, read in Unity's axes. The quaternion sent is
that matrix's (x, y, z, w), w >= 0: positive ry turns the head to the subject's right (Unity +y),
positive rx pitches it down (Unity +x), positive rz rolls it (Unity +z). Not mirrored: tick the
app's *mirror* (or the receiver's) for a mirror-image avatar.

Sending never blocks tracking: :meth:`VmcSender.submit` drops the frame into a latest-wins slot;
a sender thread builds the bundle and writes it to a non-blocking UDP socket. A full socket
buffer or a receiver that refuses (ICMP port unreachable) costs that frame only and is counted.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from models.landmark_expressions import LIVE_LINK_FACE_NAMES

log = logging.getLogger(__name__)
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 39539
VRM0_PRESETS = ("Blink_L", "Blink_R", "A", "I", "U", "E", "O", "Joy", "Angry", "Sorrow", "Fun", "LookUp", "LookDown",
                "LookLeft", "LookRight")
HEAD_LOCAL_POS = (0.0, 0.07, 0.0)  # metres: a typical VRM neck-to-head offset (we know no skeleton)
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


# ---------------------------------------------------------------------------- targets
def check_host(host: str) -> str:
    """An IP address or a host name (no DNS lookup here); ValueError says what is wrong."""
    host = host.strip()
    if not host:
        raise ValueError("VMC host is empty: e.g. 127.0.0.1 (this computer) or the receiver's address")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if re.fullmatch(r"[0-9.]+", host) or not _HOST_RE.match(host):
        raise ValueError(f"VMC host {host!r} is not an IP address or a host name")
    return host


def check_port(port: str | int) -> int:
    try:
        p = int(str(port).strip())
    except ValueError:
        raise ValueError(f"VMC port must be a number 1-65535, got {port!r} (VMC's default is {DEFAULT_PORT})") from None
    if not 1 <= p <= 65535:
        raise ValueError(f"VMC port must be 1-65535, got {p} (VMC's default is {DEFAULT_PORT})")
    return p


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6; a bare HOST takes port 39539) -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else str(DEFAULT_PORT)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, str(DEFAULT_PORT)
    return check_host(host), check_port(port)


# ---------------------------------------------------------------------------- messages
def rotation_matrix(rx: float, ry: float, rz: float) -> np.ndarray:
    """``R = Rz @ Ry @ Rx`` as :func:`models.camera.rotation_matrix`. -> (3, 3)"""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rz @ Ry @ Rx


def quaternion_from_matrix(R: np.ndarray) -> np.ndarray:
    """Rotation matrix -> unit quaternion (x, y, z, w) with w >= 0 (Shepperd's method)."""
    m = np.asarray(R, np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(max(1.0 + m[i, i] - m[j, j] - m[k, k], 1e-12))
        q = [0.0, 0.0, 0.0, (m[k, j] - m[j, k]) / s]
        q[i], q[j], q[k] = 0.25 * s, (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def head_quaternion(H: np.ndarray) -> np.ndarray:
    """H = (f, rx, ry, rz, tx, ty) -> the Head bone's quaternion (x, y, z, w) in Unity's axes (module doc)."""
    return quaternion_from_matrix(rotation_matrix(float(H[1]), float(H[2]), float(H[3])))


def vrm_presets(weights: dict[str, float]) -> dict[str, float]:
    """The VRM 0 preset table of the module docstring. {ARKit camelCase name: weight} -> {preset: weight}."""
    g = lambda n: float(weights.get(n, 0.0))
    j, p, u = g("jawOpen"), g("mouthPucker"), g("browInnerUp")
    w, b = max(g("mouthSmileLeft"), g("mouthSmileRight")), max(g("browDownLeft"), g("browDownRight"))
    out = {"Blink_L": g("eyeBlinkLeft"), "Blink_R": g("eyeBlinkRight"), "A": j * (1 - max(p, w)), "I": w * (1 - j),
           "U": p * (1 - j), "E": min(j, w), "O": min(j, p), "Joy": max(0.0, 2 * w - 1), "Angry": b,
           "Sorrow": u * (1 - w) * (1 - j), "Fun": w,
           "LookUp": 0.5 * (g("eyeLookUpLeft") + g("eyeLookUpRight")),
           "LookDown": 0.5 * (g("eyeLookDownLeft") + g("eyeLookDownRight")),
           "LookLeft": 0.5 * (g("eyeLookOutLeft") + g("eyeLookInRight")),
           "LookRight": 0.5 * (g("eyeLookInLeft") + g("eyeLookOutRight"))}
    return {k: float(np.clip(v, 0.0, 1.0)) for k, v in out.items()}


def _msg(address: str, *args: tuple[object, str]):
    m = OscMessageBuilder(address)
    for value, tag in args:
        m.add_arg(value, tag)
    return m.build()


def frame_bundle(weights: dict[str, float], H: np.ndarray, t: float, perfect_sync: bool) -> tuple[bytes, int]:
    """One tracked frame as an OSC bundle. -> (datagram, number of messages)"""
    b = OscBundleBuilder(IMMEDIATELY)
    vals = list(vrm_presets(weights).items())
    if perfect_sync:  # VMagicMirror's perfect sync: the ARKit names in PascalCase
        vals += [(n, float(weights.get(n[0].lower() + n[1:], 0.0))) for n in LIVE_LINK_FACE_NAMES]
    for name, v in vals:
        b.add_content(_msg("/VMC/Ext/Blend/Val", (name, "s"), (v, "f")))
    b.add_content(_msg("/VMC/Ext/Blend/Apply"))
    q = head_quaternion(H)
    b.add_content(_msg("/VMC/Ext/Bone/Pos", ("Head", "s"), *((float(v), "f") for v in (*HEAD_LOCAL_POS, *q))))
    b.add_content(_msg("/VMC/Ext/Root/Pos", ("root", "s"), *((v, "f") for v in (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0))))
    b.add_content(_msg("/VMC/Ext/OK", (1, "i")))
    b.add_content(_msg("/VMC/Ext/T", (float(t), "f")))
    return b.build().dgram, len(vals) + 5


LOST_OK = _msg("/VMC/Ext/OK", (0, "i")).dgram  # the only thing sent while no face is found


# ---------------------------------------------------------------------------- transport
class DatagramPort:
    """A non-blocking datagram socket that counts what it could not send (never raises, never waits)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.sent = self.lost = self.refused = 0
        self.last_error = ""
        self.t_refused = -1e9  # perf_counter of the last refusal

    def send(self, data: bytes) -> bool:
        try:
            self.sock.send(data)
        except BlockingIOError:
            self.lost += 1
            self.last_error = "socket buffer full"
            return False
        except ConnectionRefusedError:
            self.lost += 1
            self.refused += 1
            self.t_refused = time.perf_counter()
            self.last_error = "receiver not listening"
            return False
        except OSError as e:
            self.lost += 1
            self.last_error = f"{type(e).__name__}: {e}"
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        self.sock.close()


@dataclass(frozen=True)
class VmcStatus:
    state: str  # sending | no face | receiver not listening | connecting | error | off
    frames_per_s: float
    messages_per_s: float
    sent: int
    lost: int
    replaced: int  # frames the sender had not sent yet when a newer one came (latest wins)
    message: str = ""


class VmcSender:
    """Sends each submitted frame's bundle on its own thread (latest frame wins, never a queue)."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, perfect_sync: bool = False) -> None:
        self.host, self.port, self.perfect_sync = check_host(host), check_port(port), bool(perfect_sync)
        self.port_: DatagramPort | None = None
        self.error = ""
        self.replaced = 0
        self.t_sent: dict[int, float] = {}  # frame index -> perf_counter when sent (benchmarks); bounded
        self.thread_cpu_s = 0.0
        self._cv = threading.Condition()
        self._pending: tuple | None = None
        self._closed = False
        self._times: deque[tuple[float, int]] = deque(maxlen=240)  # (t, messages) per datagram sent
        self._found_last = False
        self._thread = threading.Thread(target=self._run, name="vmc-sender", daemon=True)
        self._thread.start()

    def submit(self, result, index: int = -1) -> None:
        """Tracking thread: a FrameResult (or anything with found/expressions/expression_names/H_frame/timestamp)."""
        with self._cv:
            if self._pending is not None:
                self.replaced += 1
            self._pending = (result, index)
            self._cv.notify()

    def _connect(self) -> None:
        fam, typ, proto, _, addr = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(fam, typ, proto)
        sock.connect(addr)  # a connected UDP socket learns "port unreachable" (counted as refused)
        self.port_ = DatagramPort(sock)

    def _run(self) -> None:
        try:
            self._connect()
        except OSError as e:
            self.error = f"cannot reach VMC receiver {self.host}:{self.port} ({e})"
            log.warning(self.error)
            return
        while True:
            with self._cv:
                while self._pending is None and not self._closed:
                    self._cv.wait()
                if self._closed:
                    break
                (result, index), self._pending = self._pending, None
            c0 = time.thread_time()
            try:
                self._send(result, index)
            except Exception as e:  # a bad frame must not end the sender
                if not self.error:
                    log.exception("VMC send failed")
                self.error = f"VMC send failed: {type(e).__name__}: {e}"
            self.thread_cpu_s += time.thread_time() - c0
        self.port_.close()

    def _send(self, r, index: int) -> None:
        self._found_last = bool(r.found)
        if r.found and r.H_frame is not None:
            names = r.expression_names or ()
            ex = r.expressions if r.expressions is not None else np.zeros(len(names))
            data, n = frame_bundle(dict(zip(names, map(float, ex))), r.H_frame, r.timestamp, self.perfect_sync)
        else:
            data, n = LOST_OK, 1
        if self.port_.send(data):
            now = time.perf_counter()
            self._times.append((now, n))
            if index >= 0 and len(self.t_sent) < 100_000:
                self.t_sent[index] = now

    def status(self) -> VmcStatus:
        now = time.perf_counter()
        recent = [(t, n) for t, n in list(self._times) if now - t <= 2.0]
        span = max(now - recent[0][0], 1e-3) if len(recent) > 1 else 0.0
        fps = (len(recent) - 1) / span if span else 0.0
        mps = sum(n for _, n in recent[1:]) / span if span else 0.0
        p = self.port_
        sent, lost = (p.sent, p.lost) if p else (0, 0)
        if self.error:
            state, msg = "error", self.error
        elif p is None:
            state, msg = "connecting", ""
        elif now - p.t_refused < 1.0:
            state, msg = "receiver not listening", f"nothing listens on {self.host}:{self.port}"
        elif recent:
            state, msg = ("sending" if self._found_last else "no face"), p.last_error
        else:
            state, msg = "idle", p.last_error
        return VmcStatus(state, fps, mps, sent, lost, self.replaced, msg)

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout=2)
