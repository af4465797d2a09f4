"""The GAN architecture config, beside the models it builds (they take it; none imports the registry)."""
from __future__ import annotations

from dataclasses import dataclass

from gan_art.errors import ConfigError

ARCHITECTURES = ("stylegan", "dcgan")  # gan_art.models registers one generator/discriminator pair per name


def _power_of_two(value: int) -> bool:
    return value >= 4 and value & (value - 1) == 0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a generator/discriminator pair; enough to rebuild both from a checkpoint."""

    arch: str = "stylegan"  # registered architecture name: "stylegan" (modern default) or "dcgan"
    resolution: int = 64  # output image side in pixels, a power of two >= 8
    z_dim: int = 256  # input latent size
    w_dim: int = 256  # intermediate latent size (stylegan); equals z_dim for dcgan
    mapping_layers: int = 4  # fully connected layers in the z -> w mapping network (stylegan)
    width: int = 32  # stylegan: channels at the output resolution; dcgan: ngf = ndf
    max_channels: int = 256  # channel cap at low resolutions (stylegan)

    def __post_init__(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ConfigError(f"unknown arch {self.arch!r}; choose one of {sorted(ARCHITECTURES)}")
        if not _power_of_two(self.resolution) or self.resolution < 8:
            raise ConfigError(f"resolution must be a power of two >= 8, got {self.resolution}")
        for name in ("z_dim", "w_dim", "mapping_layers", "width", "max_channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
