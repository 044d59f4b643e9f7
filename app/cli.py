"""Command line of the launcher (the GUI arrives with the app issue)."""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="launcher.py", description="Live 3D face avatar tracker that adapts to your room.")
    p.add_argument("--source", default=None, help="webcam[:INDEX] | video:PATH | synthetic[:ROOM]")
    p.add_argument("--bundle", default=None, help="avatar bundle folder (default: the committed default avatar)")
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print("roomfit-avatar: the desktop window is not built yet; planned usage:")
    build_parser().print_help()
    del args
    return 0
