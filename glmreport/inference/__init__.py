"""Stage 4, inference: ContrastResult -> CorrectionResults (thresholds, survivors, tables).

``registry`` maps a config method name to the function that applies it, with the
``context`` it receives; ``scales`` converts between p, z, t and F; ``thresholds``
(uncorrected, FDR with the one Benjamini-Hochberg procedure, Bonferroni, and
``make_correction`` shared by every method), ``permutation/``, ``rft/`` and ``ari`` are the
methods, ``svc`` runs rft and permutation inside a small volume; ``connectivity`` defines
voxel neighbourhoods; ``clusters`` and ``peaks`` build cluster and peak tables,
``cluster_index`` their index maps, ``tfce`` enhances maps; ``crossref`` links results of one
contrast;
``effect_sizes`` reports standardised effects; ``results`` holds :class:`CorrectionResult`.
Never imports labels, outputs, figures, report or pipeline.
"""
