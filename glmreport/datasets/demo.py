"""Seeded synthetic group data for the demo, the examples and the tests.

Every map lives on the MNI152NLin2009cAsym 2 mm grid of the bundled template: smooth Gaussian
noise inside the brain mask, zero outside, plus Gaussian "activation" blobs of known centre
(MNI mm), width and amplitude.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel.affines import apply_affine
from scipy import ndimage

from ..outputs.safety import DEMO_MARKER, demo_marker
from ..outputs.write import write_nifti
from ..resources import template_image
from .demo_atlas import CONFIG_ENTRY as DEMO_ATLAS
from .demo_atlas import write_demo_atlas


@dataclass(frozen=True, slots=True, kw_only=True)
class Blob:
    """A Gaussian activation: centre in MNI mm, FWHM in mm, peak amplitude."""

    center: tuple[float, float, float]
    amplitude: float
    fwhm: float = 12.0


#: Activations of the demo's "button press" effect (left motor, SMA, right cerebellum) and a
#: deactivation (posterior cingulate), in MNI mm.
BUTTON_PRESS = (
    Blob(center=(-38.0, -22.0, 56.0), amplitude=2.4, fwhm=14.0),
    Blob(center=(-4.0, -6.0, 54.0), amplitude=1.6, fwhm=10.0),
    Blob(center=(20.0, -52.0, -22.0), amplitude=1.6, fwhm=12.0),
    Blob(center=(0.0, -52.0, 28.0), amplitude=-1.8, fwhm=14.0),
)
#: An age effect (right prefrontal) used by the demo's covariate.
AGE_EFFECT = (Blob(center=(36.0, 40.0, 22.0), amplitude=0.15, fwhm=14.0),)


def template_grid() -> tuple[np.ndarray, np.ndarray]:
    """The bundled brain mask (bool, 97 x 115 x 97) and its affine."""
    img = nib.load(template_image("mask"))
    return np.asarray(img.dataobj) > 0, img.affine


def blob_map(blobs: Sequence[Blob], shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    """Sum of Gaussian blobs evaluated at every voxel centre, (X, Y, Z) float32."""
    out = np.zeros(shape, dtype=np.float32)
    if not blobs:
        return out
    axes = [np.arange(n) for n in shape]
    for blob in blobs:
        centre = apply_affine(np.linalg.inv(affine), blob.center)
        sigma_vox = blob.fwhm / np.sqrt(8 * np.log(2)) / np.sqrt((affine[:3, :3] ** 2).sum(0))
        g = [
            np.exp(-0.5 * ((a - c) / s) ** 2)
            for a, c, s in zip(axes, centre, sigma_vox, strict=True)
        ]
        out += (
            blob.amplitude * g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
        ).astype(np.float32)
    return out


def smooth_noise(
    rng: np.random.Generator, n: int, shape: tuple[int, ...], *, fwhm_vox: float = 3.0
) -> np.ndarray:
    """``n`` independent unit-variance Gaussian fields of the given smoothness, (n, X, Y, Z)."""
    sigma = fwhm_vox / np.sqrt(8 * np.log(2))
    out = rng.standard_normal((n, *shape), dtype=np.float32)
    for i in range(n):
        ndimage.gaussian_filter(out[i], sigma, output=out[i], truncate=3.0)
    # variance of filtered white noise: 1 / (8 pi^1.5 sigma^3) for a 3D Gaussian kernel
    out *= np.float32(np.sqrt(8 * np.pi**1.5 * sigma**3))
    return out


def write_maps(
    folder: Path,
    rows: Sequence[dict],
    signals: Sequence[np.ndarray],
    *,
    seed: int,
    noise_sd: float = 1.0,
    subject_sd: float = 0.0,
    subject_key: str = "sub",
) -> pd.DataFrame:
    """Write one map per row = signal + smooth noise (+ a per-subject offset field).

    Parameters
    ----------
    folder : Path
        Where the NIfTI files go.
    rows : sequence of dict
        Each needs ``filename`` (relative to ``folder``); other keys become table columns.
    signals : sequence of (X, Y, Z) ndarray
        The noiseless map of each row.
    seed : int
    noise_sd : float
        Standard deviation of the smooth noise.
    subject_sd : float
        Standard deviation of a smooth field shared by all rows of one subject (``subject_key``),
        making repeated-measures designs meaningful.
    """
    mask, affine = template_grid()
    rng = np.random.default_rng(seed)
    noise = smooth_noise(rng, len(rows), mask.shape) * np.float32(noise_sd)
    shared: dict[str, np.ndarray] = {}
    if subject_sd:
        subjects = sorted({str(r[subject_key]) for r in rows})
        fields = smooth_noise(rng, len(subjects), mask.shape) * np.float32(subject_sd)
        shared = dict(zip(subjects, fields, strict=True))
    records = []
    for row, signal, eps in zip(rows, signals, noise, strict=True):
        data = signal + eps
        if shared:
            data = data + shared[str(row[subject_key])]
        data[~mask] = 0.0
        path = folder / row["filename"]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_nifti(path, data, affine)
        records.append(
            {
                "path": str(path.relative_to(folder)),
                **{k: v for k, v in row.items() if k != "filename"},
            }
        )
    return pd.DataFrame(records)


DEMO_CONFIG = """\
title: Button press, group level (synthetic demo)
output: results
model:
  level: second
  inputs: inputs.tsv
  design: one-sample
  covariates: [age]
  smoothing_fwhm: 6
  mask: auto
contrasts:
  - {name: button press, t: intercept}
  - {name: age, t: age}
  - {name: effects of interest, F: [intercept, age]}
corrections:
  - {method: uncorrected, alpha: 0.001, cluster_extent: 10}
  - {method: fdr, alpha: 0.05}
  - {method: bonferroni, alpha: 0.05}
two_sided: true
report: {formats: [html, pdf]}
"""


def write_demo(folder: str | Path, *, n_subjects: int = 16, seed: int = 42) -> Path:
    """Write the demo dataset (one effect map per subject, an age covariate) and its config.

    Parameters
    ----------
    folder : str or Path
        Created if needed; receives ``data/``, ``inputs.tsv``, ``demo.yaml`` and the
        ``.glmreport-demo`` marker that lets ``glmreport demo --overwrite`` replace it.
    n_subjects : int
    seed : int

    Returns
    -------
    Path
        The config file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # first, so that even a partly written demo folder is known as one ('demo --overwrite')
    (folder / DEMO_MARKER).write_text(json.dumps(demo_marker(), indent=2) + "\n", "utf-8")
    mask, affine = template_grid()
    rng = np.random.default_rng(seed)
    ages = np.round(rng.uniform(20, 60, n_subjects)).astype(int)
    base = blob_map(BUTTON_PRESS, mask.shape, affine)
    age = blob_map(AGE_EFFECT, mask.shape, affine)
    rows, signals = [], []
    for i, a in enumerate(ages):
        sub = f"{i + 1:02d}"
        rows.append(
            {
                "filename": f"data/sub-{sub}_desc-buttonpress_effect.nii.gz",
                "subject": sub,
                "age": int(a),
            }
        )
        signals.append(base + age * np.float32(a - ages.mean()))
    table = write_maps(folder, rows, signals, seed=seed + 1)
    table.to_csv(folder / "inputs.tsv", sep="\t", index=False)
    write_demo_atlas(folder)
    config = folder / "demo.yaml"
    config.write_text(DEMO_CONFIG + DEMO_ATLAS, encoding="utf-8")
    return config


# ---------------------------------------------------------------------------------------------
# stand-ins for the example analyses (examples/*.yaml)

#: Vertical vs horizontal checkerboards: occipital effects that differ between conditions.
#: The difference (1.6 at the peaks) is about 5.8 standard errors of the unpaired test and 9 of
#: the paired one (noise SD 0.5 per map, 0.6 per subject), so both examples find it.
VERTICAL = (
    Blob(center=(10.0, -88.0, 4.0), amplitude=2.0),
    Blob(center=(-10.0, -88.0, 4.0), amplitude=2.0),
)
HORIZONTAL = (
    Blob(center=(10.0, -88.0, 4.0), amplitude=0.4),
    Blob(center=(-10.0, -88.0, 4.0), amplitude=0.4),
)


def write_two_conditions(
    folder: str | Path, *, n_subjects: int = 16, seed: int = 7
) -> pd.DataFrame:
    """2 x N maps (vertical and horizontal checkerboard effects per subject), for the unpaired
    and paired two-sample examples; a shared per-subject field makes pairing matter.

    Writes ``data/sub-XX_desc-<condition>_effect.nii.gz`` and ``two_conditions.tsv``
    (columns path, subject, condition).
    """
    folder = Path(folder)
    mask, affine = template_grid()
    maps = {
        "vertical": blob_map(VERTICAL, mask.shape, affine),
        "horizontal": blob_map(HORIZONTAL, mask.shape, affine),
    }
    rows, signals = [], []
    for cond in ("vertical", "horizontal"):
        for i in range(n_subjects):
            sub = f"{i + 1:02d}"
            rows.append(
                {
                    "filename": f"data/sub-{sub}_desc-{cond}_effect.nii.gz",
                    "subject": sub,
                    "condition": cond,
                }
            )
            signals.append(maps[cond])
    table = write_maps(
        folder, rows, signals, seed=seed, noise_sd=0.5, subject_sd=0.6, subject_key="subject"
    )
    table.to_csv(folder / "two_conditions.tsv", sep="\t", index=False)
    return table


#: 3 x 3 face-recognition stand-in: stimulus (famous, unfamiliar, scrambled) x repetition
#: (initial, immediate, delayed). Faces drive the fusiform gyri, famous faces also the
#: temporal pole, immediate repetition suppresses the face response.
FUSIFORM = (
    Blob(center=(40.0, -52.0, -18.0), amplitude=1.4),
    Blob(center=(-40.0, -52.0, -18.0), amplitude=1.1),
)
TEMPORAL_POLE = (Blob(center=(-36.0, 12.0, -30.0), amplitude=0.7),)


def write_anova(folder: str | Path, *, n_subjects: int = 16, seed: int = 11) -> None:
    """Per-subject condition maps in a BIDS-derivatives-like tree for the 3 x 3 ANOVA example:
    ``derivatives/sub-XX/sub-XX_task-faces_stim-<FF|UF|SF>_rep-<Ini|Imm|Del>_effect.nii.gz``
    (famous, unfamiliar, scrambled faces x initial, immediate, delayed presentation).
    """
    folder = Path(folder)
    mask, affine = template_grid()
    fusiform = blob_map(FUSIFORM, mask.shape, affine)
    pole = blob_map(TEMPORAL_POLE, mask.shape, affine)
    gains = {"Ini": 1.0, "Imm": 0.5, "Del": 0.85}
    rows, signals = [], []
    for i in range(n_subjects):
        sub = f"{i + 1:02d}"
        for stim in ("FF", "UF", "SF"):
            for rep in ("Ini", "Imm", "Del"):
                face = 0.0 if stim == "SF" else gains[rep]
                signal = fusiform * np.float32(face) + (pole if stim == "FF" else 0.0)
                rows.append(
                    {
                        "filename": f"derivatives/sub-{sub}/sub-{sub}_task-faces"
                        f"_stim-{stim}_rep-{rep}_effect.nii.gz",
                        "sub": sub,
                    }
                )
                signals.append(np.asarray(signal, dtype=np.float32))
    write_maps(folder, rows, signals, seed=seed, noise_sd=0.8, subject_sd=0.8, subject_key="sub")


# ---------------------------------------------------------------------------------------------
# first level: two BOLD runs of one subject


#: FIAC-like 2 x 2 design: sentence (same / different) x speaker (same / different).
FIRST_LEVEL_CONDITIONS = ("SSt_SSp", "SSt_DSp", "DSt_SSp", "DSt_DSp")
#: Temporal cortex responds to every condition, more to different sentences; a frontal region
#: responds to different speakers only.
TEMPORAL = (Blob(center=(-56.0, -20.0, 4.0), amplitude=1.0, fwhm=16.0),)
FRONTAL = (Blob(center=(44.0, 24.0, 20.0), amplitude=1.0, fwhm=16.0),)


def _events(rng: np.random.Generator, n_scans: int, t_r: float) -> pd.DataFrame:
    onsets = np.arange(10.0, n_scans * t_r - 20.0, 9.0)
    trial = rng.permutation(np.resize(FIRST_LEVEL_CONDITIONS, onsets.size))
    return pd.DataFrame({"onset": onsets, "duration": 3.0, "trial_type": trial})


def write_first_level(
    folder: str | Path, *, n_scans: int = 120, t_r: float = 2.0, seed: int = 5
) -> None:
    """Two BOLD runs of one subject on a 4 mm grid with AR(1) noise and known responses.

    Run 1 comes with its BIDS events and confounds files; run 2 with a precomputed design
    matrix (``sub-01_run-2_design.tsv``), as in analyses that reuse designs made elsewhere.
    """
    from ..glm.first_level import make_first_level_design, make_frame_times

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (40, 48, 36)
    affine = np.array([[4.0, 0, 0, -78.0], [0, 4.0, 0, -112.0], [0, 0, 4.0, -60.0], [0, 0, 0, 1]])
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = apply_affine(affine, ijk).reshape(*shape, 3)
    brain = (
        (xyz[..., 0] / 70) ** 2 + ((xyz[..., 1] + 18) / 92) ** 2 + ((xyz[..., 2] - 8) / 62) ** 2
    ) < 1
    temporal = blob_map(TEMPORAL, shape, affine)
    frontal = blob_map(FRONTAL, shape, affine)
    gain = {
        "SSt_SSp": (1.0, 0.0),
        "SSt_DSp": (1.0, 1.0),
        "DSt_SSp": (2.0, 0.0),
        "DSt_DSp": (2.0, 1.0),
    }
    frame_times = make_frame_times(n_scans, t_r)
    for run in (1, 2):
        events = _events(rng, n_scans, t_r)
        motion = pd.DataFrame(
            {
                "trans_x": np.cumsum(rng.normal(0, 0.02, n_scans)),
                "rot_z": np.cumsum(rng.normal(0, 0.001, n_scans)),
            }
        )
        design = make_first_level_design(
            frame_times,
            events,
            hrf_model="glover",
            drift_model="cosine",
            high_pass=0.01,
            confounds=motion,
        ).to_frame()
        signal = np.zeros((*shape, n_scans), dtype=np.float32)
        for cond, (g_temporal, g_frontal) in gain.items():
            reg = design[cond].to_numpy(dtype=np.float32)
            signal += (g_temporal * temporal + g_frontal * frontal)[..., None] * reg
        noise = rng.standard_normal((*shape, n_scans)).astype(np.float32)
        for t in range(1, n_scans):
            noise[..., t] = 0.4 * noise[..., t - 1] + np.sqrt(1 - 0.4**2) * noise[..., t]
        bold = 800.0 * brain[..., None] + brain[..., None] * (8.0 * signal + 6.0 * noise)
        bold += rng.normal(0, 2.0, bold.shape).astype(np.float32)
        write_nifti(folder / f"sub-01_run-{run}_bold.nii.gz", bold.astype(np.float32), affine)
        if run == 1:
            events.to_csv(folder / "sub-01_run-1_events.tsv", sep="\t", index=False)
            motion.to_csv(folder / "sub-01_run-1_confounds.tsv", sep="\t", index=False)
        else:
            design.to_csv(
                folder / "sub-01_run-2_design.tsv", sep="\t", index=False, float_format="%.8g"
            )
