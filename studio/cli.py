"""``python -m studio``: a small command registry so that each studio module adds its own
subcommand (``head`` lives here; ``capture`` registers itself from ``studio.capture_cli``).

A command module calls :func:`register` at import time with a name, a help line, a
function that adds its arguments to an ``argparse`` sub-parser, and a function that runs
it with the parsed namespace (returning an exit code). :data:`COMMAND_MODULES` lists the
modules imported to collect commands; a missing optional module is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

COMMAND_MODULES = ("studio.cli", "studio.capture_cli", "studio.enroll.cli", "studio.guide_codes")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_REGISTRY: dict[str, Command] = {}


def register(name: str, help: str, add_arguments, run) -> None:
    """Register (or replace) a ``python -m studio <name>`` subcommand."""
    _REGISTRY[name] = Command(name, help, add_arguments, run)


def commands() -> dict[str, Command]:
    for mod in COMMAND_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    return dict(_REGISTRY)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m studio", description="Synthetic capture studio.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in sorted(commands().items()):
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


# ---------------------------------------------------------------------- head
def _head_args(p: argparse.ArgumentParser) -> None:
    from models.topology import ASSET_DIR

    p.add_argument("--out", default=str(ASSET_DIR / "head_v1.npz"), help="output .npz (default: %(default)s)")


def _head_run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from studio.head import save_template

    t0 = time.time()
    topo = save_template(args.out)
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {topo.n_vertices} vertices, {topo.n_faces} faces, "
          f"{len(topo.extras['blendshape_names'])} expressions, {len(topo.extras['identity_names'])} identity "
          f"directions, {len(topo.salient_uv)} salient points, {size / 1e6:.2f} MB, digest {topo.digest()} "
          f"({time.time() - t0:.1f} s)", file=sys.stderr)
    return 0


register("head", "generate the template head topology asset (models/assets/head_v1.npz)", _head_args, _head_run)
