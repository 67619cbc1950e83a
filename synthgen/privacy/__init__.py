"""Privacy: output protections and the privacy-safe export."""

from synthgen.privacy.export import ExportResult, export
from synthgen.privacy.protections import Protections, copy_mask, protect_training_data

__all__ = ["ExportResult", "Protections", "copy_mask", "export", "protect_training_data"]
