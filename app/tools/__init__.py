"""Developer tools that drive the real window: ``python -m app.tools.snapshot`` (a screenshot),
``python -m app.tools.stall_probe`` (how long the GUI event loop stalls, per phase)."""
