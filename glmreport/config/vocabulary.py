"""The names a config may use, and the bounds the config shares with the statistics.

Levels, design kinds, HRF, noise and drift models, correction methods, map statistics, atlas
sources and report formats. The modules that implement each name import it from here, and
``tests/config/test_vocabulary.py`` checks that every name has an implementation.
"""

from __future__ import annotations

from typing import Literal

#: ``model.level``: group analysis of maps, single-subject runs, existing statistical maps, or
#: a whole BIDS study (every subject's first level, then the group).
LEVELS = ("second", "first", "maps", "study")

#: Second-level design kinds (``model.design``), built by :mod:`glmreport.glm.design`.
DESIGN_KINDS: tuple[str, ...] = ("one-sample", "two-sample", "paired", "anova", "formula", "matrix")

#: HRF model names accepted in the config (``none`` = unconvolved boxcar).
HRF_MODELS = (
    "spm",
    "glover",
    "spm + derivative",
    "glover + derivative",
    "spm + derivative + dispersion",
    "glover + derivative + dispersion",
    "fir",
    "none",
)

#: First-level noise models (:func:`glmreport.glm.ar1.fit_first_level`).
NOISE_MODELS = ("ar1", "ols")

#: First-level drift models (:func:`glmreport.glm.drift.make_drift`); ``None`` = constant only.
DRIFT_MODELS = ("cosine", "polynomial", None)

#: Correction methods (``corrections[].method``), applied through
#: :data:`glmreport.inference.registry.METHODS`.
METHODS = ("uncorrected", "fdr", "bonferroni", "permutation", "ari", "rft")

#: Statistics of existing maps (``model.level: maps``).
MAP_STATS = ("t", "z", "F")

#: Where an atlas entry given as a mapping comes from (a plain string is a registry name).
ATLAS_SOURCES = ("templateflow", "file", "fsl")

#: Report formats (``report.formats``).
FORMATS = ("html", "pdf")

#: The statistic of a contrast.
StatType = Literal["t", "F"]

#: Most resamples a null may use, and most distinct resamples ever enumerated (exact tests):
#: 10^6 resolve p-values to 1e-6 (Monte Carlo standard error below 3e-4 at p = 0.05), far
#: below any threshold in use, and the work grows linearly with the count.
MAX_RESAMPLES = 1_000_000
