"""Exceptions (and warnings) raised by synthgen.

Every error synthgen raises on purpose derives from :class:`SynthgenError`, so callers can catch
one class. Messages name the column (when there is one), what was expected and what was found.
"""

from __future__ import annotations

__all__ = [
    "ConditionError",
    "ConfigurationError",
    "ConstraintError",
    "DataError",
    "DataWarning",
    "EvaluationError",
    "MetadataError",
    "NotFittedError",
    "PersistenceError",
    "PersonalDataWarning",
    "SamplingWorkerError",
    "SchemaError",
    "SynthgenError",
    "TrainingTimeLimitWarning",
]


class SynthgenError(Exception):
    """Base class of every error raised by synthgen."""


class SchemaError(SynthgenError, ValueError):
    """The data does not match a schema, or a schema cannot be built for it."""


class MetadataError(SchemaError):
    """The metadata of linked tables (keys, foreign keys, sequence order) is malformed, or the
    tables do not match it (a dangling foreign key, a duplicate primary key, a cycle)."""


class DataError(SynthgenError, ValueError):
    """The input table itself is unusable (empty, bad column names, infinities, ...)."""


class NotFittedError(SynthgenError, AttributeError):
    """A method that needs a fitted model was called before ``fit``."""


class ConditionError(SynthgenError, ValueError):
    """A sampling condition is invalid, infeasible or too rare to satisfy."""


class ConstraintError(SynthgenError, ValueError):
    """A constraint is malformed or cannot be satisfied."""


class PersistenceError(SynthgenError, OSError):
    """A saved model cannot be written or read (bad file, newer format, ...)."""


class EvaluationError(SynthgenError, ValueError):
    """The frames given to an evaluator cannot be compared."""


class ConfigurationError(SynthgenError, ValueError):
    """A generator parameter has an invalid value (checked in ``fit``)."""


class SamplingWorkerError(SynthgenError, RuntimeError):
    """A worker process of ``sample_to(..., n_jobs=k)`` stopped before its part was written."""


class TrainingTimeLimitWarning(UserWarning):
    """``max_time`` ended a fit before its planned epochs: the model depends on the machine's
    speed and load (a fit without ``max_time`` repeats on any machine)."""


class PersonalDataWarning(UserWarning):
    """A fitted table has columns of personal data or free text (read from their values):
    their values are not learned and samples get generated ones. The message names the
    columns and their types, never a value."""


class DataWarning(UserWarning):
    """synthgen read the data in a way the user should know about: a separator sniffed, a
    missing-value marker such as ``"?"`` found, dates that do not parse taken as missing.
    The message names the column (or file) and the count."""
