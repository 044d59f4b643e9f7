"""Enrollment: a short monocular clip of a person becomes a personal avatar bundle (issue 17).

Stages (each resumable from the work folder, :mod:`studio.enroll.pipeline`):
clip -> per-frame 68 landmarks (:mod:`.clip`) -> multi-frame fit of identity, pose and
expression (:mod:`.fit`, :mod:`.fit_texture`) -> texture unwrapping (:mod:`.unwrap`) -> the
personal lab: the fitted person as a studio person, a lab capture, a personal DAM and I2ZNet
warm-started from the default avatar's (:mod:`.lab`) -> verification on held-back frames
(:mod:`.verify`) -> an ordinary avatar bundle. Everything runs on this machine.
"""
