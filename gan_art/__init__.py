"""GAN Art Studio: train, explore, repair and restyle images with GANs."""

__version__ = "0.1.0"
