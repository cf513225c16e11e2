"""The version of glmreport (one place; the package and the results folder read it here)."""

__version__ = "0.1.0"
