"""The writer's config, without torch: what :mod:`.model` builds the network from and what
:mod:`.pen` steps it with in numpy (``lstm write`` never imports torch)."""

from __future__ import annotations

from dataclasses import dataclass, fields

KAPPA_SCALE = 25.0  # the window's position moves exp(k) / KAPPA_SCALE a point (model.py)


@dataclass
class WriteConfig:
    alphabet: str = ""  # the characters the model can write; index 0 is "unknown"
    hidden: int = 256  # the paper: 400
    layers: int = 3
    window: int = 10  # K, Gaussian components of the window
    mixture: int = 20  # M, bivariate Gaussians of the output
    dropout: float = 0.0
    scale: tuple = (1.0, 1.0)  # std of dx, dy over the training data (inputs are divided by it)
    hands: tuple = ()  # the hands a line may be asked for, fed beside each pen point (issue 40)


def config_of(config: dict) -> WriteConfig:
    """A checkpoint's plain-dict config -> :class:`WriteConfig` (keys it does not know ignored)."""
    names = {f.name for f in fields(WriteConfig)}
    cfg = {k: v for k, v in config.items() if k in names}
    cfg["hands"] = tuple(cfg.get("hands", ()))
    return WriteConfig(**cfg)
