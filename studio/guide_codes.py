"""``python -m studio guide-codes --bundle B [--person P]``: the avatar's expression directions.

Computes z*(e_b) for every basis expression of :data:`models.code_guide.BASIS` (and z*(0)) with the
bundle's own DAM encoder E_X on the avatar person's geometry and lab texture
(:func:`studio.retarget.avatar_codes`, paper Eq. 2) and writes them into the bundle manifest
under ``guide_codes`` (atomically; the weights are not touched, so their checksum holds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from models import bundle as B
from models.code_guide import basis_expressions, codes_to_manifest

from .cli import register


def compute(bundle: B.AvatarBundle, person) -> dict:
    """-> the manifest's ``guide_codes`` for the avatar's person: a studio seed, or a person object
    (an enrolled person, :class:`studio.enroll.person.EnrolledPerson`)."""
    from studio.expressions import EXPRESSION_NAMES
    from studio.retarget import avatar_codes

    if not bundle.manifest.get("has_encoder", True):
        raise B.BundleError("the bundle has no DAM encoder E_X: its expression directions cannot be computed")
    e = basis_expressions(EXPRESSION_NAMES)
    z = avatar_codes(bundle.dam.eval(), person, e, np.zeros((len(e), 3)), bundle.cfg.tex_size)
    return codes_to_manifest(z.numpy(), f"studio.retarget.avatar_codes(person={_who(person)})")


def _who(person) -> str:
    """A studio seed as itself, an enrolled person as ``enrolled:NAME``."""
    return str(person) if isinstance(person, (int, np.integer)) else f"enrolled:{getattr(person, 'name', 'person')}"


def write(path: str | Path, codes: dict) -> None:
    """Put ``codes`` into ``path``/manifest.json (atomic replace)."""
    mpath = Path(path) / B.MANIFEST
    manifest = json.loads(mpath.read_text())
    manifest["guide_codes"] = codes
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", dir=mpath.parent)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, mpath)


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bundle", required=True, help="avatar bundle folder (written in place)")
    p.add_argument("--person", type=int, default=None, help="studio person of the avatar (default: its manifest's)")
    p.add_argument("--own", action="store_true",
                   help="an enrolled avatar: compute its own directions from its person.npz through its own DAM "
                        "(default: copy its warm start's; on liveportrait_d13 its own gave mouth r 0.63 -> 0.73 "
                        "but eyes 0.83 -> 0.70, docs/enrollment.md)")


def _run(a: argparse.Namespace) -> int:
    t0 = time.time()
    bundle = B.load(a.bundle)
    person = a.person if a.person is not None else bundle.manifest.get("provenance", {}).get("person")
    if isinstance(person, str) and person.startswith("enrolled:") and a.own:
        # the enrolled person's own directions through its own DAM (the personal DAM, trained from the
        # warm start, decodes the warm start's brow_raise direction with an opening mouth)
        from studio.enroll.person import EnrolledPerson

        if not (Path(a.bundle) / "person.npz").exists():
            print(f"{a.bundle}: --own needs the enrolled person's person.npz in the bundle", file=sys.stderr)
            return 2
        person = EnrolledPerson.load(Path(a.bundle) / "person.npz")
    elif isinstance(person, str) and person.startswith("enrolled:"):
        # the default for an enrolled avatar: its warm start's directions (the code space is shared,
        # studio/enroll/lab.py)
        start = B.read_manifest(bundle.manifest["provenance"].get("warm_start") or B.DEFAULT_BUNDLE)
        if "guide_codes" not in start:
            print(f"{a.bundle}: its warm-start avatar has no guide_codes; run guide-codes on that first",
                  file=sys.stderr)
            return 2
        write(a.bundle, start["guide_codes"])
        print(f"wrote its warm start's guide_codes into {a.bundle} (shared code space)", file=sys.stderr)
        return 0
    if person is None:
        print(f"{a.bundle}: the manifest names no studio person; pass --person", file=sys.stderr)
        return 2
    if isinstance(person, str):  # a seed written as text
        person = int(person)
    codes = compute(bundle, person)
    write(a.bundle, codes)
    norms = {c: round(float(np.linalg.norm(d)), 2) for c, d in codes["directions"].items()}
    print(f"wrote guide_codes into {a.bundle} (person {_who(person)}, |d| {norms}, {time.time() - t0:.1f} s)",
          file=sys.stderr)
    return 0


register("guide-codes", "compute the avatar's expression directions for keypoint guidance (into its manifest)",
         _args, _run)
