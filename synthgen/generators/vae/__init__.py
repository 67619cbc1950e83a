"""The tabular variational autoencoder (registry key ``"vae"``)."""

from synthgen.generators.vae.generator import TabularVAE
from synthgen.generators.vae.prior import LatentMixture, fit_latent_mixture

__all__ = ["LatentMixture", "TabularVAE", "fit_latent_mixture"]
