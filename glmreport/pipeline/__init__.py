"""The stage order: the only package that calls every stage.

``run`` (prepare -> infer -> label -> write -> render, and ``validate``); preparation per level
in ``second_level``, ``first_level`` and ``maps``, each returning a ``prepared.Prepared``;
``infer`` applies the corrections and adds atlas labels. Only ``cli`` and ``glmreport``
import this package.
"""

from __future__ import annotations

from .prepared import Prepared
from .run import atlas_warnings, prepare, run, validate

__all__ = ["Prepared", "atlas_warnings", "prepare", "run", "validate"]
