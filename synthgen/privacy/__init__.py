"""Privacy mechanisms below the generators: output protections and differential privacy.

The privacy-safe export, which uses both and the generators, lives above them in
:mod:`synthgen.safe_export`.
"""

from synthgen.privacy.protections import Protections, protect_training_data

__all__ = ["Protections", "protect_training_data"]
