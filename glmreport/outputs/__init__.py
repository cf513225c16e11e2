"""Stage 6, outputs: the results folder, the one contract between a run and its report.

``results`` writes maps, tables and ``summary.json``; ``write`` the files and the staged,
atomic folder; ``provenance`` package versions and platform; ``safety`` what may be replaced,
the lock and paths read back; ``readback`` checks a ``summary.json`` before it is used;
``shareable`` makes paths and texts fit to share.
"""
