"""What the section builders share: the :class:`Context` of one report and the readers of the
files a summary names (NIfTI maps, TSV tables, ``.npz`` arrays), each resolved inside the
results folder again before it is opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from .. import figures
from ..errors import InputError
from ..outputs.safety import resolve_inside
from .model import Atlas, FigureItem

Volume = tuple[np.ndarray, np.ndarray]


@dataclass(slots=True)
class Context:
    """The results folder being reported and what every section draws with.

    Attributes
    ----------
    results_dir : Path
    dpi : float
    background : figures.Background
    mask, mask_affine : ndarray or None
        The analysis mask (for the histograms' in-mask values).
    layout : figures.MatrixLayout or None
        Column layout of the design matrix figure, shared by the contrast matrices.
    atlases : tuple of Atlas
    effect_unit : str
        Unit of the contrast estimates in the tables' headers.
    viewer : dict or None
        The slice viewers' shared base (display grid, anatomy, atlases), once built.
    display_mask : ndarray or None
        The analysis mask on the display grid.
    """

    results_dir: Path
    dpi: float
    background: figures.Background
    mask: np.ndarray | None
    mask_affine: np.ndarray | None
    layout: figures.MatrixLayout | None
    atlases: tuple[Atlas, ...] = ()
    effect_unit: str = "inputs' units"
    viewer: dict[str, Any] | None = None
    display_mask: np.ndarray | None = None

    def path(self, rel: str | None, what: str) -> Path | None:
        """The file a summary path names inside the results folder (None when not given)."""
        if rel is None or rel == "":
            return None
        return resolve_inside(self.results_dir, rel, what=what)

    def in_mask(self, data: np.ndarray, affine: np.ndarray) -> np.ndarray:
        """The in-mask values of a volume (its non-zero finite values without a mask)."""
        if (
            self.mask is not None
            and self.mask.shape == data.shape
            and self.mask_affine is not None
            and np.allclose(self.mask_affine, affine, atol=1e-3)
        ):
            return data[self.mask]
        return data[(data != 0) & np.isfinite(data)]


def figure_item(png: figures.Png, alt: str, caption: str = "") -> FigureItem:
    """An embedded figure from a rendered PNG."""
    return FigureItem(
        src=png.data_uri, width=png.width, height=png.height, alt=alt, caption=caption
    )


def slug(text: str) -> str:
    """An HTML id fragment: letters, digits, ``_`` and ``-``, at most 40 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")[:40] or "x"


def load_volume(path: Path | None) -> Volume | None:
    """A 3D volume and its affine (None when the file is not there)."""
    if path is None or not path.is_file():
        return None
    try:
        img = nib.load(path)
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many types for damaged files
        raise InputError(
            f"{path} is not a readable NIfTI image ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None
    if data.ndim > 3:
        data = data.reshape(data.shape[:3])
    return data, img.affine


def read_tsv(path: Path | None) -> pd.DataFrame | None:
    """A TSV table (None when the file is not there; empty when the file is)."""
    if path is None or not path.is_file():
        return None
    try:
        return pd.read_csv(path, sep="\t", dtype={"cluster_id": str}, keep_default_na=True)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path} is not a readable TSV table: {str(exc)[:200]}") from None


def read_null(path: Path) -> np.ndarray | None:
    """The ``null`` array of a permutation's ``.npz`` file (None when it has none)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return np.asarray(arrays["null"]) if "null" in arrays.files else None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path} is not a readable .npz file: {str(exc)[:200]}") from None
