"""Deep appearance model (DAM, Lombardi et al. 2018) as reused by the paper (sec. 3.1).

A conditional VAE over ``X = (G, T)``:

* encoder ``E_X(G, T) -> (mu, logstd)`` of ``z`` (KL-regularised);
* decoder ``D(z, view) -> (G, T)``: geometry from ``z`` alone (view-independent, rigid
  motion removed), texture from ``z`` plus an embedding of the view direction
  (view-dependent), upsampled by transposed convolutions to ``T x T``.

Texture values are in [0, 1] (sigmoid around a learned per-texel bias, the mean texture).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig

Tensor = torch.Tensor


def _logit(p: Tensor) -> Tensor:
    p = p.clamp(1e-3, 1 - 1e-3)
    return torch.log(p) - torch.log1p(-p)


class DAMEncoder(nn.Module):
    """E_X: (G (B, V, 3), T (B, 3, T, T)) -> (mu (B, Z), logstd (B, Z))."""

    def __init__(self, cfg: ModelConfig, n_vertices: int) -> None:
        super().__init__()
        self.geo = nn.Sequential(nn.Linear(n_vertices * 3, cfg.dam_hidden), nn.LeakyReLU(0.2, True),
                                 nn.Linear(cfg.dam_hidden, 256), nn.LeakyReLU(0.2, True))
        layers: list[nn.Module] = []
        cin = 3
        for c in cfg.enc_channels:
            layers += [nn.Conv2d(cin, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            cin = c
        self.tex = nn.Sequential(*layers)
        self.pool = max(cfg.tex_size // cfg.enc_tex_size, 1)
        s = min(cfg.enc_tex_size, cfg.tex_size) // 2 ** len(cfg.enc_channels)
        self.tex_fc = nn.Sequential(nn.Linear(cin * s * s, 256), nn.LeakyReLU(0.2, True))
        self.mu = nn.Linear(512, cfg.z_dim)
        self.logstd = nn.Linear(512, cfg.z_dim)

    def forward(self, G_offset: Tensor, T: Tensor) -> tuple[Tensor, Tensor]:
        if self.pool > 1:
            T = F.avg_pool2d(T, self.pool)  # (B, 3, enc_tex_size, enc_tex_size)
        h = torch.cat([self.geo(G_offset.flatten(1)), self.tex_fc(self.tex(T).flatten(1))], 1)
        return self.mu(h), self.logstd(h).clamp(-8.0, 4.0)


class DAMDecoder(nn.Module):
    """D: (z (B, Z), view (B, 3)) -> (G (B, V, 3), T (B, 3, T, T) in [0, 1])."""

    def __init__(self, cfg: ModelConfig, n_vertices: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.geo = nn.Sequential(nn.Linear(cfg.z_dim, cfg.dam_hidden), nn.LeakyReLU(0.2, True),
                                 nn.Linear(cfg.dam_hidden, n_vertices * 3))
        nn.init.zeros_(self.geo[-1].weight)
        nn.init.zeros_(self.geo[-1].bias)
        self.view_embed = nn.Sequential(nn.Linear(3, cfg.view_dim), nn.LeakyReLU(0.2, True))
        c0 = cfg.tex_channels[0]
        self.tex_fc = nn.Linear(cfg.z_dim + cfg.view_dim, c0 * cfg.tex_base**2)
        ups: list[nn.Module] = []
        chans = list(cfg.tex_channels) + [cfg.tex_channels[-1]]
        for cin, cout in zip(chans[:-1], chans[1:]):
            ups += [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.tex_up = nn.Sequential(*ups)
        self.tex_out = nn.Conv2d(chans[-1], 3, 3, 1, 1)
        # untied per-texel bias = logit of the mean texture (set from data before training)
        self.tex_bias = nn.Parameter(torch.zeros(3, cfg.tex_size, cfg.tex_size))

    def forward(self, z: Tensor, view: Tensor) -> tuple[Tensor, Tensor]:
        cfg = self.cfg
        G_offset = self.geo(z).view(z.shape[0], -1, 3)  # (B, V, 3)
        v = self.view_embed(F.normalize(view, dim=-1))  # (B, view_dim)
        h = self.tex_fc(torch.cat([z, v], 1)).view(z.shape[0], cfg.tex_channels[0], cfg.tex_base, cfg.tex_base)
        # channels-last: oneDNN's kernels for these few-channel, large maps are 3-6x faster in
        # that layout (the 8->3 output conv's backward ~6x), which dominates an adaptation step
        h = F.leaky_relu(h, 0.2).contiguous(memory_format=torch.channels_last)
        T = torch.sigmoid(self.tex_out(self.tex_up(h)) + self.tex_bias)  # (B, 3, T, T), channels-last strides
        return G_offset, T


class DeepAppearanceModel(nn.Module):
    """The person-specific face model: ``encode(G, T)`` and ``decode(z, view)``.

    Geometry is modelled as an offset from ``G_mean`` (V, 3) and scaled by ``G_scale`` so
    the decoder works on unit-scale numbers; both are buffers set from training data.
    """

    def __init__(self, cfg: ModelConfig, template_vertices: Tensor) -> None:
        super().__init__()
        self.cfg = cfg
        V = template_vertices.shape[0]
        self.register_buffer("G_mean", template_vertices.clone().float())
        self.register_buffer("G_scale", torch.tensor(0.05))
        self.encoder = DAMEncoder(cfg, V)
        self.decoder = DAMDecoder(cfg, V)

    @property
    def n_vertices(self) -> int:
        return self.G_mean.shape[0]

    def set_statistics(self, G_mean: Tensor, G_std: float, T_mean: Tensor) -> None:
        """Centre geometry and texture on training-data statistics (before training)."""
        with torch.no_grad():
            self.G_mean.copy_(G_mean)
            self.G_scale.fill_(max(float(G_std), 1e-6))
            self.decoder.tex_bias.copy_(_logit(T_mean))

    def encode(self, G: Tensor, T: Tensor) -> tuple[Tensor, Tensor]:
        """E_X. Shape: G (B, V, 3), T (B, 3, T, T) -> mu, logstd (B, Z)."""
        return self.encoder((G - self.G_mean) / self.G_scale, T)

    def decode(self, z: Tensor, view: Tensor) -> tuple[Tensor, Tensor]:
        """D. Shape: z (B, Z), view (B, 3) -> G (B, V, 3), T (B, 3, T, T) in [0, 1]."""
        G_offset, T = self.decoder(z, view)
        return self.G_mean + self.G_scale * G_offset, T

    def decode_geometry(self, z: Tensor) -> Tensor:
        """Geometry branch only (cheap). (B, Z) -> (B, V, 3)."""
        G_offset = self.decoder.geo(z).view(z.shape[0], -1, 3)
        return self.G_mean + self.G_scale * G_offset

    def forward(self, G: Tensor, T: Tensor, view: Tensor, sample: bool = True):
        """VAE pass: returns reconstruction (G, T), mu, logstd."""
        mu, logstd = self.encode(G, T)
        z = mu + torch.randn_like(mu) * torch.exp(logstd) if sample else mu
        G_rec, T_rec = self.decode(z, view)
        return G_rec, T_rec, mu, logstd
