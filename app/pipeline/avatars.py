"""Personal avatars: enrolled bundles in the user's data folder, listed next to the default avatar.

``<data dir>/avatars/<slug>/``            an avatar bundle folder (``manifest.json`` + weights, the
                                          enrollment engine's ``--out``), its ``enroll_report.json``
                                          and ``contact_sheet.png``, and ``avatar.json`` (name,
                                          created, source clip sha256, frames, report summary)
``<data dir>/avatars/<slug>.work/``       the engine's work folder (finished stages, for ``--resume``)
``<data dir>/avatars/<slug>.clip.mp4``    the guided recording (next to the folder, not in it: the
                                          engine owns the folder and may replace it atomically)
``<data dir>/avatars/<slug>.clip.prompts.json`` which frames of the clip belong to which prompt
``<data dir>/avatars/<slug>.enroll.json`` the job (name, clip) while it is unfinished

A slot with a job file and no ``avatar.json`` is an unfinished enrollment (:meth:`AvatarStore.unfinished`),
resumable with the engine's ``--resume``. The folder name (slug) never changes: renaming rewrites
``avatar.json`` only, so the settings can remember an avatar by its slug. The "default avatar" is
not stored here: :data:`DEFAULT_NAME` is a pseudo-entry the picker shows first. Problems raise
:class:`AvatarError` with a message for the user; a broken folder is listed with ``error`` set.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from models import bundle as B

from .profiles import display_path, slugify, user_data_dir

META, REPORT, SHEET = "avatar.json", "enroll_report.json", "contact_sheet.png"
WORK, CLIP, JOB = ".work", ".clip.mp4", ".enroll.json"
DEFAULT_NAME = "Default avatar"
AVATAR_FORMAT = 1
REPORT_KEYS = ("psnr_face", "ssim_face", "identity_distance_median", "identity_distance_default_avatar",
               "nme51_vs_detector")


class AvatarError(RuntimeError):
    """A personal avatar cannot be registered, renamed, deleted or found; the message says why."""


@dataclass(frozen=True)
class AvatarInfo:
    name: str
    slug: str  # "" for the default avatar
    path: Path | None  # the bundle folder (None: the default, whatever the app started with)
    created: str = ""
    clip_sha256: str = ""
    frames: int = 0
    summary: dict = field(default_factory=dict)
    error: str = ""  # non-empty: the folder is there but unusable
    default: bool = False


@dataclass(frozen=True)
class PendingEnrollment:
    """An enrollment that was started and did not finish (cancelled, crashed, the app quit)."""

    name: str
    slug: str
    slot: Path
    clip: Path
    created: str = ""


DEFAULT_AVATAR = AvatarInfo(DEFAULT_NAME, "", None, default=True)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def report_summary(report_path: str | Path) -> dict:
    """The headline figures of an ``enroll_report.json`` ({} when it is missing or unreadable)."""
    try:
        rep = json.loads(Path(report_path).read_text())
    except (OSError, ValueError):
        return {}
    held = rep.get("held_back", {}) if isinstance(rep.get("held_back"), dict) else {}
    out = {k: held[k] for k in REPORT_KEYS if k in held}
    for k in ("seconds", "frames"):
        if k in rep:
            out[k] = rep[k]
    return out


class AvatarStore:
    """Personal avatars in ``root`` (default ``user_data_dir()/avatars``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else user_data_dir() / "avatars"

    @property
    def shown_root(self) -> str:
        """The folder as the window names it (the home folder as ``~``)."""
        return display_path(self.root)

    # ------------------------------------------------------------------ reading
    def list(self) -> list[AvatarInfo]:
        """Every finished or broken avatar folder, newest first (unfinished enrollments are in :meth:`unfinished`)."""
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if not d.is_dir() or d.name.startswith(".") or d.name.endswith(WORK):
                continue
            if not (d / META).exists() and self._job(d.name).exists():
                continue  # still enrolling
            out.append(self._info(d))
        return sorted(out, key=lambda a: a.created, reverse=True)

    def entries(self) -> list[AvatarInfo]:
        """What the picker shows: the default avatar, then the personal ones."""
        return [DEFAULT_AVATAR, *self.list()]

    def _info(self, d: Path) -> AvatarInfo:
        try:
            meta = json.loads((d / META).read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            return AvatarInfo(d.name, d.name, d, error=f"avatar {d.name!r} is incomplete ({META} missing); delete it")
        except (OSError, ValueError) as e:
            return AvatarInfo(d.name, d.name, d, error=f"avatar {d.name!r} is corrupt ({META}: {e}); delete it")
        info = AvatarInfo(str(meta.get("name") or d.name), d.name, d, str(meta.get("created", "")),
                          str(meta.get("clip_sha256", "")), int(meta.get("frames") or 0), meta.get("summary") or {})
        try:
            B.read_manifest(d)
        except B.BundleError as e:
            return AvatarInfo(info.name, d.name, d, info.created, error=str(e))
        return info

    def find(self, name: str) -> AvatarInfo:
        """By name (or slug). Raises AvatarError when missing or broken."""
        for a in self.list():
            if a.name == name or a.slug == name:
                if a.error:
                    raise AvatarError(a.error)
                return a
        raise AvatarError(f"no personal avatar named {name!r} in {self.root}")

    def unfinished(self) -> list[PendingEnrollment]:
        if not self.root.is_dir():
            return []
        out = []
        for job in sorted(self.root.glob(f"*{JOB}")):
            slug = job.name[: -len(JOB)]
            if (self.root / slug / META).exists():
                continue
            try:
                meta = json.loads(job.read_text())
            except (OSError, ValueError):
                meta = {}
            out.append(PendingEnrollment(str(meta.get("name") or slug), slug, self.root / slug, self.clip_path(slug),
                                         str(meta.get("created", ""))))
        return out

    # ------------------------------------------------------------------ paths
    def _job(self, slug: str) -> Path:
        return self.root / f"{slug}{JOB}"

    def job_name(self, slot: str | Path) -> str:
        """The name an unfinished slot was reserved under ("" when it has no job file)."""
        try:
            return str(json.loads(self._job(Path(slot).name).read_text()).get("name") or "")
        except (OSError, ValueError, AttributeError):
            return ""

    def clip_path(self, slot: str | Path) -> Path:
        """Where the guided recording of ``slot`` (a slug or the slot folder) is kept."""
        return self.root / f"{Path(slot).name}{CLIP}"

    def segments_path(self, slot: str | Path) -> Path:
        """Which frames of the clip belong to which prompt (written with the clip)."""
        return self.root / f"{Path(slot).name}.clip.prompts.json"

    def clip_part_path(self, slot: str | Path) -> Path:
        """The recording while it is written (OpenCV picks the container from the ``.mp4`` ending)."""
        return self.root / f"{Path(slot).name}.clip.part.mp4"

    def _names(self) -> set[str]:
        return {a.name.casefold() for a in self.list()} | {p.name.casefold() for p in self.unfinished()} | \
            {DEFAULT_NAME.casefold()}

    def unique_name(self, base: str) -> str:
        """``base``, or ``base (2)`` ... when taken."""
        taken = self._names()
        name, k = base, 2
        while name.casefold() in taken:
            name, k = f"{base} ({k})", k + 1
        return name

    def new_slot(self, name: str) -> Path:
        """A fresh folder path for the engine's ``--out`` (not created; the job file reserves it)."""
        name = self.check_name(name)
        self.root.mkdir(parents=True, exist_ok=True)
        base = slugify(name)
        slug, k = base, 2
        while any(p.exists() for p in (self.root / slug, self.root / f"{slug}{WORK}", self.clip_path(slug),
                                       self._job(slug))):
            slug, k = f"{base}-{k}", k + 1
        _write_json(self._job(slug), {"name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                      "clip": self.clip_path(slug).name})
        return self.root / slug

    def check_name(self, name: str, own: str = "") -> str:
        """The stripped name, if it is not empty and no other avatar (but ``own``) has it; else AvatarError."""
        name = (name or "").strip()
        if not name:
            raise AvatarError("an avatar needs a name")
        if name.casefold() in self._names() - {own.casefold()}:
            raise AvatarError(f"an avatar named {name!r} already exists")
        return name

    # ------------------------------------------------------------------ writing
    def register(self, path: str | Path, name: str, clip_sha: str, summary: dict | None = None,
                 frames: int | None = None) -> AvatarInfo:
        """Make the finished bundle folder ``path`` (inside the store) a personal avatar: write
        ``avatar.json`` atomically. ``summary`` defaults to the report's headline figures."""
        d = Path(path)
        if d.parent.resolve() != self.root.resolve():
            raise AvatarError(f"{d} is not a slot of the avatar store {self.root}")
        try:
            B.read_manifest(d)
        except B.BundleError as e:
            raise AvatarError(f"the enrollment did not leave a usable bundle: {e}") from e
        job = self._job(d.name)
        name = self.check_name(name, self.job_name(d))
        summary = dict(summary if summary is not None else report_summary(d / REPORT))
        frames = int(frames if frames is not None else summary.get("frames") or 0)
        meta = {"format_version": AVATAR_FORMAT, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "clip_sha256": clip_sha, "clip": self.clip_path(d).name, "frames": frames, "summary": summary}
        _write_json(d / META, meta)
        job.unlink(missing_ok=True)
        return self._info(d)

    def rename(self, name: str, new_name: str) -> AvatarInfo:
        info = self.find(name)
        new_name = self.check_name(new_name, info.name)
        meta = json.loads((info.path / META).read_text())  # type: ignore[operator]
        meta["name"] = new_name
        _write_json(info.path / META, meta)  # type: ignore[operator]
        return self._info(info.path)  # type: ignore[arg-type]

    def delete(self, name: str) -> None:
        """Remove the avatar (or an unfinished or broken one) and everything derived from it: the
        folder, its ``.work`` sibling, the recorded clip and the job file."""
        slug = next((a.slug for a in self.list() if a.name == name or a.slug == name), None) or \
            next((p.slug for p in self.unfinished() if p.name == name or p.slug == name), None)
        if slug is None:
            raise AvatarError(f"no personal avatar named {name!r}")
        for folder in (self.root / slug, self.root / f"{slug}{WORK}"):
            if folder.exists():
                trash = folder.with_name(f".{folder.name}.deleted")
                shutil.rmtree(trash, ignore_errors=True)
                os.replace(folder, trash)
                shutil.rmtree(trash, ignore_errors=True)
        for f in (self.clip_path(slug), self.segments_path(slug), self.clip_part_path(slug), self._job(slug)):
            f.unlink(missing_ok=True)
