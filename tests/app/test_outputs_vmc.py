"""VMC output: a headless run's stream received by a real python-osc server on loopback; the send path
never blocks (closed port, full socket buffer); the head quaternion and the preset table."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from app.cli import main
from app.outputs.vmc import (
    VRM0_PRESETS,
    DatagramPort,
    VmcSender,
    check_port,
    head_quaternion,
    parse_target,
    vrm_presets,
)
from models.face_signals import pearson
from models.landmark_expressions import LIVE_LINK_FACE_NAMES

from .osc_receiver import OscReceiver

FPS = 10  # the synthetic actor plays one performance frame per source frame: slow enough that none is dropped


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOMFIT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def blank_video(path, n=8, size=(320, 240)):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for _ in range(n):
        vw.write(np.full((size[1], size[0], 3), 90, np.uint8))
    vw.release()
    return path


def test_headless_vmc_stream_order_type_tags_quaternion_and_blink(tiny_bundle, data_dir):
    with OscReceiver() as rx:
        rc = main(["--headless", "--source", "synthetic:lab", "--bundle", str(tiny_bundle), "--frames", "100",
                   "--fps", str(FPS), "--size", "320x240", "--no-render", "--vmc", f"127.0.0.1:{rx.port}",
                   "--vmc-perfect-sync", "--json", str(data_dir / "o.json"), "--log-level", "WARNING"])
        rx.wait(100)
    assert rc == 0
    report = json.loads((data_dir / "o.json").read_text())
    assert report["outputs"]["vmc"]["sent"] == len(rx.datagrams) >= 100
    blink, t = [], []
    for dg in rx.datagrams:
        addrs = [a for a, _, _ in dg]
        assert addrs[-4:] == ["/VMC/Ext/Bone/Pos", "/VMC/Ext/Root/Pos", "/VMC/Ext/OK", "/VMC/Ext/T"]
        apply = addrs.index("/VMC/Ext/Blend/Apply")
        assert set(addrs[:apply]) == {"/VMC/Ext/Blend/Val"} and addrs.count("/VMC/Ext/Blend/Apply") == 1
        vals = {args[0]: args[1] for a, tags, args in dg[:apply]}
        assert list(vals) == [*VRM0_PRESETS, *LIVE_LINK_FACE_NAMES]  # presets, then perfect sync (PascalCase)
        assert all(0.0 <= v <= 1.0 for v in vals.values())
        tags = {a: tg for a, tg, _ in dg}
        assert tags == {"/VMC/Ext/Blend/Val": ",sf", "/VMC/Ext/Blend/Apply": ",", "/VMC/Ext/Bone/Pos": ",sfffffff",
                        "/VMC/Ext/Root/Pos": ",sfffffff", "/VMC/Ext/OK": ",i", "/VMC/Ext/T": ",f"}
        head = dg[-4][2]
        assert head[0] == "Head" and abs(np.linalg.norm(head[4:8]) - 1.0) < 1e-5
        assert dg[-2][2] == [1]
        blink.append(vals["Blink_L"])
        assert vals["EyeBlinkLeft"] == pytest.approx(vals["Blink_L"])
        t.append(dg[-1][2][0])
    # the synthetic actor's ground-truth blink at the received frames (T = frame / fps on this source)
    from app.sources.actor import load_person
    from studio.expressions import EXPRESSION_NAMES

    perf = load_person(0).performance
    frames = np.round(np.asarray(t) * FPS).astype(int)
    truth = np.array([np.asarray(perf(int(i))[0])[EXPRESSION_NAMES.index("blink_L")] for i in frames])
    blink = np.asarray(blink)
    assert (truth > 0.5).sum() >= 1, "the clip has no blink in the received frames"
    assert blink[truth > 0.5].min() > 0.5 and np.median(blink[truth < 0.05]) < 0.2
    assert pearson(blink, truth) > 0.6


def test_only_ok_while_no_face_and_the_take_of_that_run(tiny_bundle, data_dir):
    """A video without a face: nothing but ``/VMC/Ext/OK ,i 0``; the take records every frame (zeros)."""
    video = blank_video(data_dir / "empty.mp4", n=8)
    with OscReceiver() as rx:
        rc = main(["--headless", "--source", f"video:{video}", "--bundle", str(tiny_bundle), "--no-loop",
                   "--vmc", f"127.0.0.1:{rx.port}", "--record", str(data_dir / "takes"),
                   "--json", str(data_dir / "o.json"), "--log-level", "WARNING"])
        rx.wait(8)
    assert rc == 0
    assert len(rx.datagrams) == 8
    assert all(dg == [("/VMC/Ext/OK", ",i", [0])] for dg in rx.datagrams)
    take = json.loads((data_dir / "o.json").read_text())["outputs"]["take"]
    assert take["frames"] == 8 and take["error"] == ""
    cap = cv2.VideoCapture(str(Path(take["path"]) / "avatar.mp4"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 8


def test_send_to_a_closed_port_returns_at_once_and_counts_the_loss():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    out = DatagramPort(s)
    worst = 0.0
    for _ in range(50):
        t0 = time.perf_counter()
        out.send(b"x" * 3000)
        worst = max(worst, time.perf_counter() - t0)
        time.sleep(0.002)  # the ICMP "port unreachable" arrives in between
    assert worst < 0.01
    assert out.refused >= 10 and out.lost == out.refused and out.sent + out.lost == 50
    out.close()


def test_send_into_a_full_socket_buffer_returns_at_once_and_counts_the_loss():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)  # b never reads: its queue fills up
    out = DatagramPort(a)
    t0 = time.perf_counter()
    for _ in range(2000):
        out.send(b"y" * 3000)
    assert time.perf_counter() - t0 < 1.0
    assert out.lost > 0 and out.last_error == "socket buffer full" and out.sent + out.lost == 2000
    out.close()
    b.close()


def test_sender_submit_never_waits_for_an_absent_receiver():
    from models.tracker import FrameResult

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    vmc = VmcSender("127.0.0.1", port, perfect_sync=True)
    r = FrameResult(0, 0.0, True, H_frame=np.array([100.0, 0.1, 0.2, 0.0, 50, 50]),
                    expressions=np.full(3, 0.5, np.float32), expression_names=("jawOpen", "a", "b"))
    spent = []
    for i in range(300):
        t0 = time.perf_counter()
        vmc.submit(r, i)
        spent.append(time.perf_counter() - t0)
        time.sleep(0.001)
    assert sum(spent) < 0.1 and max(spent) < 0.02  # a slot put, whatever the receiver does
    time.sleep(0.1)
    st = vmc.status()
    vmc.close()
    assert st.lost > 0 and st.sent + st.lost + st.replaced <= 300
    assert st.state == "receiver not listening"


def test_head_quaternion_matches_the_rotation_and_unity_axes():
    rng = np.random.default_rng(0)
    for r in rng.uniform(-1.2, 1.2, (200, 3)):
        q = head_quaternion(np.array([1.0, *r, 0.0, 0.0]))
        ref = Rotation.from_euler("ZYX", r[::-1]).as_quat()  # R = Rz Ry Rx, scipy's (x, y, z, w)
        assert np.allclose(q, ref if ref[3] >= 0 else -ref, atol=1e-9)
    q = head_quaternion(np.array([1.0, 0.0, 0.3, 0.0, 0.0, 0.0]))  # turned to the subject's right: Unity +y
    assert q[1] == pytest.approx(np.sin(0.15)) and q[3] == pytest.approx(np.cos(0.15))


def test_vrm_presets_and_targets():
    p = vrm_presets({"jawOpen": 1.0})
    assert p["A"] == 1.0 and p["I"] == p["U"] == p["O"] == p["E"] == 0.0
    p = vrm_presets({"mouthPucker": 1.0, "jawOpen": 0.6, "eyeBlinkLeft": 0.9})
    assert p["O"] == pytest.approx(0.6) and p["U"] == pytest.approx(0.4) and p["Blink_L"] == pytest.approx(0.9)
    assert set(vrm_presets({})) == set(VRM0_PRESETS)
    from models.gaze import LOOK_NAMES, arkit_look

    look = dict(zip(LOOK_NAMES, map(float, arkit_look(np.array([[0.25, -0.1], [0.25, -0.1]])))))  # image right, up
    p = vrm_presets(look)
    assert p["LookLeft"] == pytest.approx(0.5) and p["LookRight"] == 0.0  # the subject's left, unmirrored
    assert p["LookUp"] == pytest.approx(0.2) and p["LookDown"] == 0.0
    assert parse_target("192.168.1.5:39540") == ("192.168.1.5", 39540)
    for bad in ("host:0", "host:70000", "host:abc", "bad host:39539"):
        with pytest.raises(ValueError):
            parse_target(bad)
    assert check_port("39539") == 39539
