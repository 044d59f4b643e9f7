"""Room profiles: adapted encoder + colour weights saved per room, in the user's data folder.

``<data dir>/profiles/<slug>/profile.json``      format version, name, created, the avatar
                                                 it belongs to (fingerprint), calibration figures
``<data dir>/profiles/<slug>/weights.safetensors`` tensors ``i2z.*`` and ``color.*``

Writes are atomic (a temporary folder next to the target, then ``os.replace``), so a crash or
a cancel never leaves a half-written profile. Never pickled. Problems raise
:class:`ProfileError` with a message for the user.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.files import replace_folder, sha256

PROFILE_FORMAT = 1
META, WEIGHTS = "profile.json", "weights.safetensors"
APP_NAME = "roomfit-avatar"


class ProfileError(RuntimeError):
    """A room profile cannot be saved, loaded, renamed or deleted; the message says why."""


def user_data_dir() -> Path:
    """Per-user data folder (``ROOMFIT_DATA_DIR`` overrides; else the platform's convention,
    the same place ``QStandardPaths.AppDataLocation`` points to)."""
    env = os.environ.get("ROOMFIT_DATA_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / APP_NAME


def display_path(path: str | Path) -> str:
    """``path`` with the home folder written ``~`` (shorter in menus and dialogs)."""
    try:
        return str(Path("~") / Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)


def slugify(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return s[:60] or "profile"


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    slug: str
    path: Path
    created: str = ""
    bundle: str = ""  # fingerprint of the avatar it was made for
    summary: dict = field(default_factory=dict)
    error: str = ""  # non-empty: the folder is there but unreadable



class ProfileStore:
    """Room profiles in ``root`` (default ``user_data_dir()/profiles``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else user_data_dir() / "profiles"

    # ------------------------------------------------------------------ reading
    def list(self) -> list[ProfileInfo]:
        """Every profile folder, newest first (unreadable ones with ``error`` set)."""
        if not self.root.is_dir():
            return []
        out = []
        for d in self.root.iterdir():
            if d.is_dir() and not d.name.startswith("."):
                try:
                    out.append(self._info(d))
                except ProfileError as e:
                    out.append(ProfileInfo(d.name, d.name, d, error=str(e)))
        return sorted(out, key=lambda p: p.created, reverse=True)

    def find(self, name: str) -> ProfileInfo:
        for p in self.list():
            if p.name == name or p.slug == name:
                if p.error:
                    raise ProfileError(p.error)
                return p
        raise ProfileError(f"no room profile named {name!r} in {self.root}")

    def _info(self, d: Path) -> ProfileInfo:
        try:
            meta = json.loads((d / META).read_text())
        except FileNotFoundError:
            raise ProfileError(f"room profile {d.name!r} is incomplete ({META} missing); delete it") from None
        except (OSError, ValueError) as e:
            raise ProfileError(f"room profile {d.name!r} is corrupt ({META}: {e}); delete it") from e
        if meta.get("format_version") != PROFILE_FORMAT:
            raise ProfileError(f"room profile {d.name!r} has format {meta.get('format_version')}, "
                               f"this program reads {PROFILE_FORMAT}; calibrate again")
        return ProfileInfo(meta.get("name", d.name), d.name, d, meta.get("created", ""), meta.get("bundle", ""),
                           meta.get("summary", {}))

    def load(self, name: str, fingerprint: str | None = None) -> tuple[dict, ProfileInfo]:
        """-> ({"i2z": state_dict, "color": state_dict}, info). Checks checksum and avatar."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        info = self.find(name)
        if fingerprint is not None and info.bundle != fingerprint:
            raise ProfileError(f"room profile {info.name!r} was calibrated for another avatar "
                               f"({info.bundle}, this one is {fingerprint}); calibrate again with this avatar")
        w = info.path / WEIGHTS
        meta = json.loads((info.path / META).read_text())
        try:
            if sha256(w) != meta.get("weights_sha256"):
                raise ProfileError(f"room profile {info.name!r}: {WEIGHTS} does not match its checksum (corrupt)")
            tensors = load_file(str(w))
        except (OSError, SafetensorError) as e:
            raise ProfileError(f"room profile {info.name!r} is unreadable ({type(e).__name__}: {e})") from e
        weights: dict[str, dict[str, torch.Tensor]] = {"i2z": {}, "color": {}}
        for k, v in tensors.items():
            prefix, _, rest = k.partition(".")
            if prefix not in weights:
                raise ProfileError(f"room profile {info.name!r} has an unexpected tensor {k!r}")
            weights[prefix][rest] = v
        return weights, info

    # ------------------------------------------------------------------ writing
    def save(self, name: str, weights: dict, fingerprint: str, summary: dict | None = None) -> ProfileInfo:
        """Write (or replace) a profile atomically."""
        from safetensors.torch import save_file

        slug = slugify(name)
        final = self.root / slug
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{slug}.", dir=self.root))
        try:
            tensors = {f"{p}.{k}": v.detach().cpu().contiguous()
                       for p in ("i2z", "color") for k, v in weights[p].items()}
            save_file(tensors, str(tmp / WEIGHTS))
            meta = {"format_version": PROFILE_FORMAT, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "bundle": fingerprint, "weights_sha256": sha256(tmp / WEIGHTS), "summary": summary or {}}
            (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True))
            replace_folder(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self._info(final)

    def rename(self, name: str, new_name: str) -> ProfileInfo:
        info = self.find(name)
        new_slug = slugify(new_name)
        if new_slug != info.slug and (self.root / new_slug).exists():
            raise ProfileError(f"a room profile named {new_name!r} already exists")
        meta = json.loads((info.path / META).read_text())
        meta["name"] = new_name
        tmp_meta = info.path / f".{META}.tmp"
        tmp_meta.write_text(json.dumps(meta, indent=2, sort_keys=True))
        os.replace(tmp_meta, info.path / META)
        if new_slug != info.slug:
            os.replace(info.path, self.root / new_slug)
        return self._info(self.root / new_slug)

    def delete(self, name: str) -> None:
        path = next((p.path for p in self.list() if p.name == name or p.slug == name), None)
        if path is None:
            raise ProfileError(f"no room profile named {name!r}")
        trash = path.with_name(f".{path.name}.deleted")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def unique_name(self, base: str) -> str:
        """``base``, or ``base (2)`` ... when taken."""
        taken = {p.slug for p in self.list()}
        name, k = base, 2
        while slugify(name) in taken:
            name, k = f"{base} ({k})", k + 1
        return name
