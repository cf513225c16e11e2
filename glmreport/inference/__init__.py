"""Stage 4, inference: ContrastResult -> CorrectionResults (thresholds, survivors, tables).

``registry`` maps a config method name to the function that applies it, with the
``context`` it receives; ``scales`` converts between p, z, t and F; ``thresholds``
(uncorrected, FDR, Bonferroni), ``permutation/``, ``rft/`` and ``ari`` are the methods;
``clusters`` and ``tfce`` build cluster and peak tables; ``crossref`` links results of one
contrast; ``results`` holds :class:`CorrectionResult`. Never imports labels, outputs,
figures, report or pipeline.
"""
