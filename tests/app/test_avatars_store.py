"""AvatarStore: slots, registration, listing (broken folders too), rename, delete of every derived file."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from app.pipeline.avatars import DEFAULT_NAME, AvatarError, AvatarStore, report_summary
from app.pipeline.enroll_recording import GuidedRecording, RecordingError


def fake_enroll(store: AvatarStore, name: str, tiny_bundle, report: dict | None = None):
    """What the engine leaves: the bundle folder at the slot, a report, a work folder, the clip."""
    slot = store.new_slot(name)
    shutil.copytree(tiny_bundle, slot)
    (slot / "enroll_report.json").write_text(json.dumps(report or {
        "held_back": {"psnr_face": 25.1, "ssim_face": 0.82, "identity_distance_median": 0.41, "other": 1},
        "seconds": 321.0, "frames": 640}))
    (slot / "contact_sheet.png").write_bytes(b"png")
    work = slot.with_name(slot.name + ".work")
    (work / "landmarks").mkdir(parents=True)
    (work / "landmarks" / "done.npz").write_bytes(b"x")
    store.clip_path(slot).write_bytes(b"mp4")
    store.segments_path(slot).write_text("{}")
    return slot


def test_register_list_find(tmp_path, tiny_bundle):
    store = AvatarStore(tmp_path / "avatars")
    assert store.list() == [] and store.unfinished() == []
    slot = fake_enroll(store, "Ada", tiny_bundle)
    assert [p.name for p in store.unfinished()] == ["Ada"] and store.list() == []  # enrolling: not offered yet
    info = store.register(slot, "Ada", "ab" * 32, frames=900)
    assert store.unfinished() == []
    assert info.name == "Ada" and info.slug == "ada" and info.frames == 900 and info.clip_sha256 == "ab" * 32
    assert info.summary == {"psnr_face": 25.1, "ssim_face": 0.82, "identity_distance_median": 0.41,
                            "seconds": 321.0, "frames": 640}
    meta = json.loads((slot / "avatar.json").read_text())
    assert meta["name"] == "Ada" and meta["created"] and not list(slot.glob(".*tmp"))
    assert store.find("Ada").path == slot and store.find("ada").name == "Ada"
    entries = store.entries()
    assert entries[0].default and entries[0].name == DEFAULT_NAME and [e.name for e in entries[1:]] == ["Ada"]
    with pytest.raises(AvatarError, match="no personal avatar"):
        store.find("Bob")


def test_names_are_unique_and_not_empty(tmp_path, tiny_bundle):
    store = AvatarStore(tmp_path / "avatars")
    store.register(fake_enroll(store, "Ada", tiny_bundle), "Ada", "0")
    assert store.unique_name("Ada") == "Ada (2)" and store.unique_name("Bob") == "Bob"
    assert store.unique_name(DEFAULT_NAME) == f"{DEFAULT_NAME} (2)"
    for bad in ("", "   "):
        with pytest.raises(AvatarError, match="needs a name"):
            store.new_slot(bad)
    with pytest.raises(AvatarError, match="already exists"):
        store.new_slot("ada")  # names compare without case
    b = store.register(fake_enroll(store, "Bea", tiny_bundle), "Bea", "0")
    with pytest.raises(AvatarError, match="already exists"):
        store.rename("Bea", "Ada")
    with pytest.raises(AvatarError, match="already exists"):
        store.rename("Bea", DEFAULT_NAME)
    with pytest.raises(AvatarError, match="needs a name"):
        store.rename("Bea", " ")
    renamed = store.rename("Bea", "Beatrice")
    assert renamed.name == "Beatrice" and renamed.slug == b.slug == "bea"  # the folder stays: settings keep the slug
    assert store.rename("Beatrice", "beatrice").name == "beatrice"  # a change of case is not a duplicate
    # a second avatar whose name slugifies like the first gets its own folder
    s3 = store.new_slot("ADA!")
    assert s3.name != "ada" and s3.name.startswith("ada")


def test_delete_removes_every_derived_file_and_leaves_the_others(tmp_path, tiny_bundle):
    root = tmp_path / "avatars"
    store = AvatarStore(root)
    keep = store.register(fake_enroll(store, "Keep", tiny_bundle), "Keep", "0")
    gone = store.register(fake_enroll(store, "Gone", tiny_bundle), "Gone", "0")
    before = sorted(p.relative_to(root) for p in root.rglob("*") if "gone" not in p.parts[len(root.parts)])
    store.delete("Gone")
    assert not any("gone" in p.name for p in root.iterdir()), list(root.iterdir())
    after = sorted(p.relative_to(root) for p in root.rglob("*"))
    assert after == before
    assert store.find("Keep").path == keep.path and gone.slug not in {a.slug for a in store.list()}
    pending = fake_enroll(store, "Half", tiny_bundle)  # an unfinished enrollment can be discarded too
    store.delete("half")
    assert not pending.exists() and not store.clip_path(pending).exists() and store.unfinished() == []
    with pytest.raises(AvatarError):
        store.delete("nobody")


def test_broken_folders_are_listed_with_an_error(tmp_path, tiny_bundle):
    root = tmp_path / "avatars"
    store = AvatarStore(root)
    store.register(fake_enroll(store, "Good", tiny_bundle), "Good", "0")
    (root / "no-meta").mkdir()
    (root / "bad-json").mkdir()
    (root / "bad-json" / "avatar.json").write_text("{not json")
    nob = store.register(fake_enroll(store, "No bundle", tiny_bundle), "No bundle", "0")
    (nob.path / "manifest.json").unlink()
    infos = {a.slug: a for a in store.list()}
    assert infos["good"].error == ""
    assert "incomplete" in infos["no-meta"].error and "corrupt" in infos["bad-json"].error
    assert "manifest" in infos["no-bundle"].error
    with pytest.raises(AvatarError, match="corrupt"):
        store.find("bad-json")
    store.delete("bad-json")  # a broken one can always be deleted
    assert "bad-json" not in {a.slug for a in store.list()}
    with pytest.raises(AvatarError, match="usable bundle"):
        store.register(store.new_slot("Empty"), "Empty", "0")  # the engine left nothing


def test_report_summary_and_register_outside_the_store(tmp_path, tiny_bundle):
    assert report_summary(tmp_path / "missing.json") == {}
    store = AvatarStore(tmp_path / "avatars")
    outside = tmp_path / "elsewhere"
    shutil.copytree(tiny_bundle, outside)
    with pytest.raises(AvatarError, match="not a slot"):
        store.register(outside, "X", "0")


def test_guided_recording_writes_prompts_in_order_atomically(tmp_path):
    import cv2

    rec = GuidedRecording()
    with pytest.raises(RecordingError, match="nothing was recorded"):
        rec.write(tmp_path / "c.mp4", tmp_path / "c.part.mp4")
    frame = lambda v: np.full((48, 64, 3), v, np.uint8)
    for i in range(4):
        rec.add("smile", frame(200), 1.0 + i / 20)
        rec.add("look_straight", frame(50), 0.1 + i / 20)
    rec.clear("smile")
    for i in range(3):
        rec.add("smile", frame(120), 2.0 + i / 20)
    info = rec.write(tmp_path / "c.mp4", tmp_path / "c.part.mp4", tmp_path / "c.prompts.json")
    assert info["frames"] == 7 and info["fps"] == pytest.approx(20.0) and len(info["sha256"]) == 64
    assert info["segments"]["look_straight"] == [0, 4] and info["segments"]["smile"] == [4, 7]
    assert not (tmp_path / "c.part.mp4").exists()
    side = json.loads((tmp_path / "c.prompts.json").read_text())
    assert side["prompts"]["smile"] == [4, 7] and side["clip"] == "c.mp4"
    cap = cv2.VideoCapture(str(tmp_path / "c.mp4"))
    means = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        means.append(img.mean())
    cap.release()
    assert len(means) == 7 and means[0] < 80 and 100 < means[-1] < 140  # straight first, the redone smile last
