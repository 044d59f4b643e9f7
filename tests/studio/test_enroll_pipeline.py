"""The enrollment command end to end on synthetic clips (issue 17: CLI, report, cancel, resume,
bad input). A tiny-sized model on the studio head keeps it to seconds per stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import bundle as B
from models.config import profile
from studio.enroll.clip import EnrollInputError
from studio.enroll.lab import LabBudget
from studio.enroll.pipeline import EnrollRequest, enroll

from .enroll_clips import noise_clip, render_clip

REPORT_KEYS = ("held_back.psnr_face", "held_back.ssim_face", "held_back.identity_distance_median",
               "held_back.identity_distance_default_avatar", "held_back.nme51_vs_detector", "seconds", "frames")
SMALL = LabBudget(frames=10, views=2, dam_steps=6, i2z_steps=4, image_size=96)


@pytest.fixture(scope="module")
def small_default(tmp_path_factory) -> Path:
    """A tiny-sized default avatar on the studio head (with E_X, an expression head and the expression
    directions of models.code_guide)."""
    from studio import guide_codes
    from studio.expressions import EXPRESSION_NAMES
    from studio.retarget import arkit_names

    cfg = profile("tiny").replace(topology="head_v1", expr_dim=len(EXPRESSION_NAMES))
    b = B.build(cfg, load_pretrained=False)
    b.manifest["expression_names"] = list(arkit_names(EXPRESSION_NAMES))
    out = tmp_path_factory.mktemp("default") / "avatar"
    B.save(b, out, provenance={"person": 0}, include_encoder=True)
    guide_codes.write(out, guide_codes.compute(B.load(out), 0))
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("clips") / "me.mp4"
    render_clip(p)
    return p


def _get(d: dict, dotted: str):
    for k in dotted.split("."):
        d = d[k]
    return d


@pytest.mark.slow
def test_enroll_cli_writes_a_loadable_bundle_and_a_full_report(tmp_path, clip, small_default):
    out = tmp_path / "avatars" / "me"
    cmd = [sys.executable, "-m", "studio", "enroll", "--video", str(clip), "--out", str(out), "--name", "Me",
           "--default-bundle", str(small_default), "--lab-frames", "10", "--lab-views", "2", "--dam-steps", "6",
           "--i2z-steps", "4", "--progress-json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    stages = [x["stage"] for x in lines if "stage" in x]
    assert stages[0] == "landmarks" and "train" in stages and "verify" in stages
    assert all(0 <= x["done"] <= 1 for x in lines if "stage" in x)
    assert [x["done"] for x in lines if "stage" in x] == sorted(x["done"] for x in lines if "stage" in x)
    assert lines[-1] == {"result": "ok", "bundle": str(out), "report": str(out / "enroll_report.json")}
    bundle = B.load(out)
    assert bundle.cfg.topology == "head_v1" and bundle.manifest["provenance"]["person"] == "enrolled:Me"
    # the personal DAM shares the default's code space, so it keeps the default's expression directions
    assert bundle.manifest["guide_codes"] == B.read_manifest(small_default)["guide_codes"]
    report = json.loads((out / "enroll_report.json").read_text())
    for k in REPORT_KEYS:
        assert isinstance(_get(report, k), (int, float)), k
    assert report["frames"] == 140 and report["frames_held_back"] > 10
    assert report["warnings"] == []  # the clip turns +-25 deg: both sides seen
    assert (out / "contact_sheet.png").stat().st_size > 1000 and (out / "person.npz").exists()
    assert not (tmp_path / "avatars" / ".me.partial").exists()
    assert not (tmp_path / "avatars" / "me.work").exists()  # finished: the work folder is gone


def _request(clip, out, default, **kw) -> EnrollRequest:
    return EnrollRequest(clip, out, "Me", default_bundle=default, budget=SMALL, **kw)


@pytest.mark.slow
def test_cancel_keeps_finished_stages_and_resume_finishes(tmp_path, clip, small_default, monkeypatch):
    out = tmp_path / "me"
    seen = []

    def cancel():  # cancel as soon as the lab capture starts
        return "lab" in seen

    with pytest.raises(KeyboardInterrupt):
        enroll(_request(clip, out, small_default), report=lambda m: seen.append(m["stage"]), cancel=cancel)
    work = out.with_name("me.work")
    assert {"clip.npz", "fit.npz", "person.npz"} <= {p.name for p in work.iterdir()}
    assert not out.exists()
    import studio.enroll.pipeline as P

    def no_reread(*a, **k):
        raise AssertionError("resume must not decode the clip again")

    monkeypatch.setattr(P, "read_clip", no_reread)
    rep = enroll(_request(clip, out, small_default, resume=True))
    assert B.load(out) is not None and rep["frames"] == 140


@pytest.mark.parametrize("case, message", [
    ("noise", "no face"), ("short", "at least"), ("two", "several faces"), ("dark", "too dark"),
    ("missing", "does not exist")])
def test_bad_input_says_what_to_redo_and_leaves_other_avatars(tmp_path, case, message, small_default):
    other = tmp_path / "avatars" / "old"
    other.mkdir(parents=True)
    (other / "manifest.json").write_text("{}")
    before = sorted((p.name, p.read_bytes()) for p in other.iterdir())
    video = tmp_path / f"{case}.mp4"
    if case == "noise":
        noise_clip(video)
    elif case == "short":
        render_clip(video, seconds=2.0)
    elif case == "two":
        render_clip(video, faces=2, seconds=5.5)
    elif case == "dark":
        render_clip(video, gain=0.15, seconds=5.5)
    with pytest.raises(EnrollInputError) as e:
        enroll(_request(video, tmp_path / "avatars" / "new", small_default))
    assert message in str(e.value)
    if case in ("noise", "dark"):
        assert e.value.redo == ("look_straight",)
    assert sorted((p.name, p.read_bytes()) for p in other.iterdir()) == before
    assert not (tmp_path / "avatars" / "new").exists()


def test_existing_avatar_is_never_overwritten(tmp_path, clip, small_default):
    out = tmp_path / "me"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(EnrollInputError, match="already holds an avatar"):
        enroll(_request(clip, out, small_default))
    assert (out / "manifest.json").read_text() == "{}"


def test_progress_is_monotone_with_an_eta():
    from studio.enroll.pipeline import STAGES, Progress

    got = []
    p = Progress(got.append)
    for name, _ in STAGES:
        p(name, 0.0, name)
        p(name, 0.5)
        p(name, 1.0)
    done = [g["done"] for g in got]
    assert done == sorted(done) and abs(done[-1] - 1.0) < 1e-6
    assert got[1]["message"] == STAGES[0][0]  # a stage keeps its message
    assert np.isclose(sum(w for _, w in STAGES), 1.0)


@pytest.mark.slow
def test_disk_full_while_writing_keeps_the_work_and_writes_nothing(tmp_path, clip, small_default, monkeypatch):
    import errno

    import studio.enroll.pipeline as P

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(P.B, "save", full)
    out = tmp_path / "me"
    with pytest.raises(EnrollInputError, match="No space left on device.*--resume"):
        enroll(_request(clip, out, small_default))
    assert not out.exists() and not (tmp_path / ".me.partial").exists()
    assert (tmp_path / "me.work" / "train").is_dir()  # the trained stages are kept for --resume


def test_little_head_rotation_is_a_warning_naming_the_turn_prompts():
    from studio.enroll.clip import rotation_coverage, yaw_range

    t = np.linspace(0, 1, 50)
    H = np.zeros((50, 6))
    H[:, 2] = np.radians(20) * np.sin(2 * np.pi * t)
    assert rotation_coverage(H) == () and 35 < yaw_range(H) < 41
    H[:, 2] = np.radians(20) * np.clip(np.sin(2 * np.pi * t), 0, None)  # only ever turned one way
    assert rotation_coverage(H) == ("turn_left",)
    H[:, 2] = 0.01 * np.sin(2 * np.pi * t)
    assert rotation_coverage(H) == ("turn_left", "turn_right") and yaw_range(H) < 2
