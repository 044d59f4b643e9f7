"""Small file helpers shared by model bundles, room profiles and enrollment: hashing, an atomic
.npz write, and the atomic replacement of a folder (write into a hidden temporary sibling,
then rename)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_npz(path: Path, compressed: bool = False, **arrays) -> Path:
    """``np.savez`` (or ``savez_compressed``) into ``path`` atomically: written beside it as
    ``NAME.part.npz`` and renamed, so an interrupted write never leaves a truncated file."""
    import numpy as np

    path = Path(path)
    part = path.with_name(path.name + ".part.npz")
    (np.savez_compressed if compressed else np.savez)(part, **arrays)
    os.replace(part, path)
    return path


def replace_folder(src: Path, final: Path) -> None:
    """Move the finished folder ``src`` to ``final``; an existing ``final`` is swapped out by
    renames, so a reader sees either the old or the new folder, never a half-written one."""
    if not final.exists():
        os.replace(src, final)
        return
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(final, old)
    os.replace(src, final)
    shutil.rmtree(old, ignore_errors=True)
