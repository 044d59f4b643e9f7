"""Keyboard shortcuts (shown by F1 and documented in docs/app.md)."""

from __future__ import annotations

SHORTCUTS = (("C", "Calibrate to this room"), ("Esc", "cancel the calibration"), ("L", "landmarks overlay"),
             ("W", "wireframe overlay"), ("B", "face box overlay"), ("F", "avatar: posed / frontal"),
             ("M", "mirror"), ("Ctrl+O", "open a video file"), ("Ctrl+Q", "quit"), ("F1", "this help"))


def shortcuts_text() -> str:
    return "\n".join(f"{k:>7}   {what}" for k, what in SHORTCUTS) + \
        "\n\nAvatar view: drag to orbit, wheel to zoom, double-click to reset."
