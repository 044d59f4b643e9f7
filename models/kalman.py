"""Pose smoothing for the tracker's output (beyond the paper): a constant-velocity Kalman filter
whose process noise rises with speed.

Each pose component is a position ``p`` with a velocity ``v``, moved by white-noise acceleration
of spectral density ``q`` (units^2 / s^3) and observed with noise ``sigma`` (the per-frame
scatter of E_I's answer). Unlike a first-order low-pass (the 1-euro filter) it follows steady
motion without lag, because it estimates the velocity; and it holds a still head steadier,
because ``q`` is small at rest and only grows once the estimated speed passes ``v0`` (0.2 noise
levels per frame by default, i.e. 6 sigma per second):

    q(v) = q_rest * sigma^2 * (1 + (v / v0)^2),   v0 = speed * sigma * fps_ref

Units are natural (angles in radians, translation in face sizes, focal scale relatively), so
``sigma`` is one table for every camera and resolution. Predict / update are the textbook
equations for the 2-state model, per component (the components are independent):

    F = [[1, dt], [0, 1]],  Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]],  y = p + n,  n ~ N(0, sigma^2)

with ``y`` the measured component (E_I's answer for this frame).

**Measured noise** (``adapt_window`` > 0, the default): ``sigma`` was measured on the studio's renders;
on real faces E_I's pose scatters more (the tracker's 2D stability on the shared real clips, 1.28,
was above the 1.17 of the synthetic ground truth's own motion). The observation noise is therefore
``max(sigma, sigma_hat)``, with ``sigma_hat`` the robust scatter of the measurements' second
differences over the last ``adapt_window`` frames (1.4826 MAD / sqrt 6: white noise of level s has
second differences of spread sqrt(6) s; smooth head motion adds little to a median). The differences
are divided by the frames' real spacing and scaled to ``FPS_REF`` (a steady turn with dropped frames
is not noise); repeated time stamps are left out; the raw measurements are kept and re-expressed in
the current unit (a translation is in face sides, and the face's size changes). ``q`` and ``v0``
stay on ``sigma``, so a noisier input is filtered harder at rest while the speed adaptation still lets
a moving head go; on input as clean as the renders nothing changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FPS_REF = 30.0  # v0 is counted in noise levels per frame at this rate


@dataclass(frozen=True)
class PoseKalmanConfig:
    """``sigma``: per-frame noise of each component (log f, rx, ry, rz in rad, tx, ty in face
    sides), rounded from the lite avatar's raw answers on the synthetic rooms (robust scatter of
    the second differences); ``q_rest``: process noise at rest in sigma^2 / s^3
    (lower = steadier); ``speed``: v0 in noise levels per frame (lower = the filter lets go of
    a moving head sooner). Defaults chosen on synthetic clips against ground truth
    (docs/results.md, "The tracker's output filter")."""

    sigma: tuple[float, ...] = (0.004, 0.01, 0.01, 0.006, 0.006, 0.006)
    q_rest: float = 200.0
    speed: float = 0.2
    adapt_window: int = 90  # frames of measured noise (module docstring); 0: sigma as given

    def __post_init__(self) -> None:
        sigma = np.asarray(self.sigma, np.float64)
        if sigma.ndim != 1 or not (np.isfinite(sigma).all() and (sigma > 0).all()):
            raise ValueError(f"PoseKalmanConfig.sigma must be positive noise levels, got {self.sigma}")
        if not (math.isfinite(self.q_rest) and self.q_rest > 0 and math.isfinite(self.speed) and self.speed > 0):
            raise ValueError(f"PoseKalmanConfig needs q_rest > 0 and speed > 0, got {self.q_rest}, {self.speed}")

    def scaled(self, factor: float) -> PoseKalmanConfig:
        """The same filter with ``q_rest`` multiplied by ``factor`` (> 0)."""
        return PoseKalmanConfig(self.sigma, self.q_rest * factor, self.speed, self.adapt_window)


class PoseKalman:
    """Vector constant-velocity Kalman filter, one independent 2-state model per component.

    ``__call__(x (D,), t s, unit (D,)) -> (D,)``: ``x`` in its own units, ``unit`` the size of one
    natural unit (e.g. the face side in pixels for a translation); the state is kept in natural
    units and re-expressed when ``unit`` changes, so a growing face box does not read as motion.
    """

    def __init__(self, cfg: PoseKalmanConfig) -> None:
        self.cfg = cfg
        self.sigma = np.asarray(cfg.sigma, np.float64)
        self.reset()

    def reset(self) -> None:
        self.p = self.v = self.unit = self.t = None
        self.P: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (P_pp, P_pv, P_vv)
        self._x: list[np.ndarray] = []  # the last adapt_window raw measurements (their own units)
        self._ts: list[float] = []  # and their times

    def noise(self, unit: np.ndarray | float = 1.0) -> np.ndarray:
        """(D,) the observation noise in use, in natural units for ``unit``: max(sigma, the measured
        scatter; module docstring)."""
        if self.cfg.adapt_window <= 0 or len(self._x) < 10:
            return self.sigma
        Y = np.asarray(self._x) / unit  # (N, D)
        dt = np.diff(np.asarray(self._ts))[:, None]  # (N - 1, 1), all > 0
        v = np.diff(Y, axis=0) / dt  # (N - 1, D) velocities
        d2 = 2.0 * np.diff(v, axis=0) / (dt[1:] + dt[:-1]) / FPS_REF ** 2  # second differences at FPS_REF
        return np.maximum(self.sigma, 1.4826 * np.median(np.abs(d2), axis=0) / math.sqrt(6.0))

    def __call__(self, x: np.ndarray, t: float, unit: np.ndarray | float = 1.0) -> np.ndarray:
        unit = np.broadcast_to(np.asarray(unit, np.float64), np.shape(x)).copy()
        y = np.asarray(x, np.float64) / unit
        s2 = self.sigma ** 2
        if self.cfg.adapt_window > 0 and (not self._ts or t > self._ts[-1]):  # not a repeated time stamp
            self._x.append(np.asarray(x, np.float64).copy())
            self._ts.append(float(t))
            del self._x[:-self.cfg.adapt_window], self._ts[:-self.cfg.adapt_window]
        if self.p is None or self.t is None or self.unit is None or self.P is None:
            # start at the measurement; the velocity prior allows one noise level per frame
            self.p, self.v, self.unit, self.t = y.copy(), np.zeros_like(y), unit, t
            self.P = (s2.copy(), np.zeros_like(y), s2 * FPS_REF ** 2)
            return y * unit
        dt = t - self.t
        if not dt > 0:  # a repeated (or out-of-order) timestamp: update only, the clock stays
            dt, t = 0.0, self.t
        r = self.unit / unit  # re-express the state in the new units
        p, v = self.p * r, self.v * r
        Ppp, Ppv, Pvv = self.P[0] * r * r, self.P[1] * r * r, self.P[2] * r * r
        # predict (process noise from the speed before the step)
        v0 = self.cfg.speed * self.sigma * FPS_REF
        q = self.cfg.q_rest * s2 * (1.0 + (v / v0) ** 2)
        p = p + dt * v
        Ppp = Ppp + 2 * dt * Ppv + dt * dt * Pvv + q * dt ** 3 / 3
        Ppv = Ppv + dt * Pvv + q * dt * dt / 2
        Pvv = Pvv + q * dt
        # update with the measurement y
        S = Ppp + self.noise(unit) ** 2
        Kp, Kv = Ppp / S, Ppv / S
        innov = y - p
        p, v = p + Kp * innov, v + Kv * innov
        Ppp, Ppv, Pvv = (1 - Kp) * Ppp, (1 - Kp) * Ppv, Pvv - Kv * Ppv
        self.p, self.v, self.unit, self.t, self.P = p, v, unit, t, (Ppp, Ppv, Pvv)
        return p * unit
