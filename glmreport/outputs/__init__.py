"""Stage 6, outputs: the results folder, the one contract between a run and its report.

``layout`` names every file (BIDS-derivative names); ``summary`` is the typed contract of
``summary.json`` (types in ``summary_types``, the one writer and reader in ``summary_io`` on top
of the checking ``codec``, the JSON Schema in ``schema``); ``results`` writes maps, sidecars,
tables and the summary; ``derivative`` the ``dataset_description.json`` and map sidecars;
``write`` the files, the one atomic writer and the staged, atomic folder; ``provenance``
package versions and platform; ``safety`` what may be replaced, the lock and paths read back;
``shareable`` makes paths and texts fit to share.
"""
