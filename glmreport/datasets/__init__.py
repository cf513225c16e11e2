"""Seeded synthetic data: the demo, the examples and a small BIDS study.

``demo`` writes group maps and first-level runs with known effects (``glmreport demo``,
``examples/make_data.py``); ``study`` a BIDS dataset with fMRIPrep derivatives simulated by
``simulation``.
"""

from __future__ import annotations

from .demo import write_anova, write_demo, write_first_level, write_two_conditions
from .study import write_study

__all__ = [
    "write_anova",
    "write_demo",
    "write_first_level",
    "write_study",
    "write_two_conditions",
]
