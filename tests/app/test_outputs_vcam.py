"""Virtual camera: a fake pyvirtualcam backend (registered with pyvirtualcam.register_backend) receives
frames of the right size at the camera's rate; a missing package or backend gives the install steps."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from app.outputs.hub import Outputs
from app.outputs.vcam import VcamUnavailable, VirtualCamera, compose
from app.pipeline.packets import TrackPacket
from models.tracker import FrameResult

pyvirtualcam = pytest.importorskip("pyvirtualcam")


class FakeBackend:
    """A pyvirtualcam backend that keeps what it is sent (pyvirtualcam hands it flat RGB frames)."""

    instances: list = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw) -> None:
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list[tuple[float, np.ndarray]] = []
        self.closed = False
        self.lock = threading.Lock()
        FakeBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        with self.lock:
            self.frames.append((time.perf_counter(), frame.copy()))

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return "fake0"

    def native_fourcc(self):
        return None


@pytest.fixture()
def fake_backend():
    FakeBackend.instances.clear()
    pyvirtualcam.register_backend("roomfit_fake", FakeBackend)
    yield FakeBackend
    pyvirtualcam.camera.BACKENDS.pop("roomfit_fake", None)


def packet(i: int, avatar=(120, 120), camera=(240, 320)) -> TrackPacket:
    r = FrameResult(i, i / 30.0, False)
    return TrackPacket(i, i, 0.0, 0.0, r, np.full((*camera, 3), 50, np.uint8), np.full((*avatar, 3), 200, np.uint8))


def test_fake_backend_gets_frames_of_the_right_size_and_rate(fake_backend):
    cam = VirtualCamera(320, 240, fps=20.0, backend="roomfit_fake")
    cam.start()
    assert cam.device == "fake0"
    t_end = time.perf_counter() + 1.5
    i = 0
    while time.perf_counter() < t_end:
        cam.submit(packet(i))
        i += 1
        time.sleep(1 / 30)
    cam.close()
    b = fake_backend.instances[0]
    assert b.closed and (b.width, b.height, b.fps) == (320, 240, 20.0)
    times = np.array([t for t, _ in b.frames])
    frames = [f for _, f in b.frames]
    assert all(f.shape == (240 * 320 * 3,) and f.dtype == np.uint8 for f in frames)
    img = frames[-1].reshape(240, 320, 3)
    assert img[120, 160].tolist() == [200, 200, 200] and img[120, 10].tolist() == [0, 0, 0]  # letterboxed avatar
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 14.0 < rate < 22.0, rate  # 20 FPS asked for (a loaded CI machine may lag a little)


def test_side_by_side_composition():
    avatar, camera = np.full((100, 100, 3), 200, np.uint8), np.full((240, 320, 3), 50, np.uint8)
    out = compose(avatar, camera, (640, 240), "side by side")
    assert out.shape == (240, 640, 3)
    assert out[120, 160].tolist() == [50, 50, 50] and out[120, 480].tolist() == [200, 200, 200]


def test_no_backend_says_how_to_install_it_and_the_app_keeps_going():
    outputs = Outputs()
    msg = outputs.start_vcam(backend="no_such_backend")
    assert outputs.vcam is None and ("v4l2loopback" in msg or "OBS" in msg)
    assert outputs.status().vcam.startswith("error: ")
    outputs.submit(packet(0))  # nothing breaks
    outputs.close()


def test_missing_package_says_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # as if it were not installed
    with pytest.raises(VcamUnavailable, match=r"pip install .*roomfit-avatar\[vcam\]"):
        VirtualCamera().start()
