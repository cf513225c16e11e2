"""Stage 2, inputs: files -> arrays on one voxel grid.

``tables`` (TSV/CSV, the inputs table), ``images`` (NIfTI with size bounds, checksums),
``entities`` (BIDS entities of names), ``bold`` (BOLD runs read one volume at a time),
``masking`` (the analysis mask), ``smoothing``; the BIDS study side: ``bids`` (run discovery),
``bids_names``, ``bids_runs``, ``confounds`` (fMRIPrep confounds), ``participants``;
``prefetch`` (the first input files hashed and inflated on a thread during start-up).
Nothing here fits a model.
"""
