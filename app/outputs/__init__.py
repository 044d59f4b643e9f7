"""Outputs: what other programs read from each tracked frame (VMC/OSC, Live Link Face-style takes,
a virtual camera). Qt-free; nothing here runs on the tracking thread's critical path except a
slot or queue put per frame (:class:`app.outputs.hub.Outputs`)."""
