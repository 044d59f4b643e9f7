"""Takes: the Live Link Face CSV round-trips against the NPZ (golden header), the mp4 has the take's
frames, an unwritable folder and a full disk give clear messages and keep the finished part."""

from __future__ import annotations

import csv
import os
import re

import cv2
import numpy as np
import pytest

from app.outputs.takes import TakeError, TakeRecorder, list_takes, timecode
from app.pipeline.packets import TrackPacket
from models.landmark_expressions import NAMES
from models.tracker import FrameResult

GOLDEN_HEADER = (
    "Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,EyeLookUpLeft,"
    "EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,EyeLookOutRight,EyeLookUpRight,"
    "EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,JawOpen,MouthClose,MouthFunnel,MouthPucker,MouthRight,"
    "MouthLeft,MouthSmileLeft,MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,MouthDimpleRight,"
    "MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,MouthShrugUpper,"
    "MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,MouthUpperUpLeft,MouthUpperUpRight,"
    "BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,CheekSquintLeft,"
    "CheekSquintRight,NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,"
    "LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def packets(n=12, lost=(4, 5), avatar=(96, 96)):
    """Real packets as the pipeline builds them (random but plausible numbers; frames 4-5 without a face)."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        found = i not in lost
        gaze = rng.uniform(-0.3, 0.3, (2, 2)).astype(np.float32) if i % 3 == 0 else None
        r = FrameResult(i, i / 30.0, found, z=rng.normal(size=16).astype(np.float32) if found else None,
                        H_frame=np.array([80, *rng.uniform(-0.4, 0.4, 3), 160, 120]) if found else None,
                        landmarks=rng.uniform(0, 300, (68, 2)).astype(np.float32) if found else None,
                        expressions=rng.uniform(0, 1, len(NAMES)).astype(np.float32) if found else None,
                        expression_names=NAMES if found else (), gaze=gaze if found else None)
        img = np.full((*avatar, 3), 20 * i % 255, np.uint8)
        out.append(TrackPacket(i, i, 100.0 + i / 30.0, 100.0 + i / 30.0 + 0.01, r, img, img))
    return out


def record(root, pk, name="t1"):
    rec = TakeRecorder(root, 30.0, name)
    for p in pk:
        rec.submit(p)
    return rec.stop()


def test_csv_round_trips_against_the_npz(tmp_path):
    pk = packets()
    info = record(tmp_path, pk)
    assert info.frames == len(pk) and info.error == "" and info.video
    files = sorted(os.listdir(info.path))
    assert files == ["avatar.mp4", "take.csv", "take.json", "take.npz"]  # no *.part left
    text = (info.path / "take.csv").read_text()
    assert text.splitlines()[0] == GOLDEN_HEADER
    rows = list(csv.DictReader(text.splitlines()))
    d = np.load(info.path / "take.npz")
    assert len(rows) == len(d["timestamp"]) == len(pk)
    names = [str(n) for n in d["expression_names"]]
    assert names == list(NAMES)
    for i, row in enumerate(rows):
        assert re.fullmatch(r"\d\d:\d\d:\d\d:\d\d\.\d\d\d", row["Timecode"]) and row["BlendShapeCount"] == "61"
        numbers = np.array([float(row[k]) for k in GOLDEN_HEADER.split(",")[2:]])
        np.testing.assert_allclose(numbers, d["live_link"][i], atol=1e-6)
        found = bool(d["found"][i])
        assert found == pk[i].result.found
        for k, name in enumerate(names):  # camelCase weights -> PascalCase columns
            col = name[0].upper() + name[1:]
            assert float(row[col]) == pytest.approx(d["expressions"][i, k] if found else 0.0, abs=1e-6)
        if found:
            rx, ry, rz = d["H"][i, 1:4]
            assert (float(row["HeadYaw"]), float(row["HeadPitch"]), float(row["HeadRoll"])) == \
                pytest.approx((ry, rx, rz), abs=1e-6)
            g = d["gaze"][i]
            eyes = (float(row["LeftEyeYaw"]), float(row["RightEyePitch"]))
            assert eyes == pytest.approx((g[0, 0], g[1, 1]), abs=1e-6)
        else:
            assert np.isnan(d["H"][i]).all() and not numbers.any()
    assert float(rows[0]["EyeLookDownLeft"]) == 0.0  # a shape we do not estimate
    np.testing.assert_allclose(d["z"][0], pk[0].result.z)
    np.testing.assert_allclose(d["t_wall"][1] - d["t_wall"][0], 1 / 30.0, atol=1e-6)


def test_mp4_has_the_takes_frame_count_and_the_take_is_listed(tmp_path):
    info = record(tmp_path, packets(n=15), name="t2")
    cap = cv2.VideoCapture(str(info.path / "avatar.mp4"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 15
    ok, img = cap.read()
    assert ok and img.shape == (96, 96, 3)
    listed = list_takes(tmp_path)
    assert [t.name for t in listed] == ["t2"] and listed[0].frames == 15 and listed[0].finished


def test_timecode_format():
    t = 1_700_000_000.5  # half a second past a second
    tc = timecode(t, 30.0)
    assert re.fullmatch(r"\d\d:\d\d:\d\d:15\.000", tc)
    assert timecode(t + 0.01, 30.0).endswith(":15.300")


def test_unwritable_folder_says_so(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(TakeError, match="is not a folder.*choose a writable folder"):
        TakeRecorder(not_a_folder / "takes", 30.0, "t")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device whose writes fail with ENOSPC)")
def test_disk_full_at_the_start_says_so(tmp_path):
    (tmp_path / "t").mkdir()
    os.symlink("/dev/full", tmp_path / "t" / "take.csv.part")  # the CSV lands on a full "disk"
    with pytest.raises(TakeError, match="the disk is full"):
        TakeRecorder(tmp_path, 30.0, "t")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device whose writes fail with ENOSPC)")
def test_disk_full_at_the_end_keeps_the_finished_part(tmp_path):
    (tmp_path / "t").mkdir()
    os.symlink("/dev/full", tmp_path / "t" / "take.npz.part")  # the NPZ cannot be written
    info = record(tmp_path, packets(n=6, lost=()), name="t")
    assert "NPZ not written: the disk is full" in info.error
    assert info.frames == 6
    rows = (info.path / "take.csv").read_text().splitlines()
    assert rows[0] == GOLDEN_HEADER and len(rows) == 7  # every finished frame kept
    assert (info.path / "avatar.mp4").exists()
    assert list_takes(tmp_path)[0].error == info.error


def test_a_take_whose_expression_names_change_midway_keeps_every_weight_by_name(tmp_path):
    """The window's expressions choice (rule -> fitted shapes) or an avatar swap can change the names
    mid-take: the NPZ holds the union of the names, each frame's weights under its own names."""
    from models.landmark_fit import LandmarkFit
    from models.topology import load_topology

    fit_names = LandmarkFit(load_topology("head_v1")).names
    import dataclasses

    pk = packets(8, lost=())
    rng = np.random.default_rng(3)
    for i in range(4, 8):
        r = dataclasses.replace(pk[i].result, expressions=rng.uniform(0, 1, len(fit_names)).astype(np.float32),
                                expression_names=fit_names)
        pk[i] = dataclasses.replace(pk[i], result=r)
    info = record(tmp_path, pk)
    assert info.error == ""
    d = np.load(info.path / "take.npz")
    names = [str(n) for n in d["expression_names"]]
    assert names[:len(NAMES)] == list(NAMES) and set(fit_names) <= set(names)
    for i, p in enumerate(pk):
        for k, n in enumerate(p.result.expression_names):
            assert d["expressions"][i, names.index(n)] == pytest.approx(p.result.expressions[k])
    only_fit = [names.index(n) for n in fit_names if n not in NAMES]
    assert not d["expressions"][:4, only_fit].any()  # the rule's frames have no weight for the fit's extra names
