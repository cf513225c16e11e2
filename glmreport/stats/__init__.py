"""Statistics: designs, fits, contrasts, inference and cluster tables.

Nothing in this package imports plotting, templates or report code.
"""
