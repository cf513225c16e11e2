"""Stage 3, glm: design -> fit -> contrasts, at both levels.

``results`` (DesignMatrix, GLMFit, ContrastResult), second-level ``design`` and ``formula``;
first-level ``first_level`` with ``events``, ``hrf`` and ``drift``; fits ``ols`` and ``ar1``;
``contrasts`` with ``expressions`` (parsed, no eval) and ``pvalues``; ``fixed_effects`` over
runs. Never imports inference, labels, outputs, figures, report or pipeline.
"""
