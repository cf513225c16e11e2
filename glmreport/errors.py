"""Exceptions raised for bad user input.

Every error a user can cause derives from :class:`GlmReportError`; the command line turns
those into a one-line message and exit code 2. Each class also subclasses the builtin it
refines, so ``except ValueError`` keeps working for library users.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GlmReportError(Exception):
    """Base class of every error caused by the user's config or data."""


class ConfigError(GlmReportError, ValueError):
    """The run-config is malformed: unknown key, wrong type or value.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    path : str, optional
        YAML path of the offending entry, e.g. ``contrasts[2].t``.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class InputError(GlmReportError, ValueError):
    """An input file is missing, unreadable, or inconsistent with the others."""


class DesignError(GlmReportError, ValueError):
    """The design cannot be built or fitted (row count, dof, missing columns)."""


class ContrastError(GlmReportError, ValueError):
    """A contrast is malformed, of the wrong width, or not estimable."""


class UnknownColumnError(ContrastError):
    """A contrast names a column the design does not have.

    A first-level model skips such a contrast for the runs that lack the column (and refuses
    it when no run has it); every other :class:`ContrastError` is refused at once.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    column : str
        The name that is not a design column.
    """

    def __init__(self, message: str, *, column: str = "") -> None:
        self.column = column
        super().__init__(message)


class InferenceError(GlmReportError, ValueError):
    """A correction cannot be applied to this model or data.

    E.g. permutation inference on a model without input images, exchangeability blocks naming
    a column the inputs table lacks, or RFT without a smoothness to work with.
    """


class AtlasError(GlmReportError, ValueError):
    """An atlas entry cannot be resolved or does not match its labels."""


class OutputError(GlmReportError, OSError):
    """The output folder cannot be written (exists without --overwrite, ...)."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string.

    Parameters
    ----------
    word : str
        What the user wrote.
    choices : iterable of str
        The allowed values.
    """
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""
