"""The signal of the synthetic study (see :mod:`glmreport.datasets.study`).

Everything here is a function of a :class:`numpy.random.Generator`: subjects' brains and
baselines, runs' events, head motion, fMRIPrep-like confounds and the preprocessed BOLD
with its planted effects (:data:`FACE_BLOB_CENTER_MM`, :data:`FACE_AMPLITUDE`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from nibabel.affines import apply_affine
from scipy import ndimage, signal

from ..glm.first_level import make_first_level_design, make_frame_times
from .demo import Blob, blob_map

CONDITIONS = ("face", "house")

#: Face-selective blob (right "fusiform"): the planted face > house effect.
FACE_BLOB_CENTER_MM = (18.0, -30.0, 2.0)
#: Face - house effect at the blob centre, percent signal change per unit regressor.
FACE_AMPLITUDE = 2.0
FACE_BLOB = Blob(center=FACE_BLOB_CENTER_MM, amplitude=FACE_AMPLITUDE, fwhm=12.0)
#: House-selective blob (left "parahippocampal"): a house > face effect.
HOUSE_BLOB = Blob(center=(-22.0, -26.0, -2.0), amplitude=1.0, fwhm=12.0)
#: Shared "visual" response to both conditions (cancels in face - house).
VISUAL_BLOB = Blob(center=(2.0, -46.0, 10.0), amplitude=1.0, fwhm=16.0)
#: Between-subject standard deviation of the effect amplitudes, as a fraction of them.
SUBJECT_AMPLITUDE_SD = 0.05

#: Brain ellipsoid (MNI mm): centre and radii of the average subject.
BRAIN_CENTER_MM = (0.0, -8.0, 8.0)
BRAIN_RADII_MM = (34.0, 42.0, 34.0)
#: Framewise displacement (mm) above which fMRIPrep's own ``motion_outlierXX`` columns flag a
#: scan (its default).
FMRIPREP_FD_THRESHOLD = 0.5
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
_N_SLICES = 20


def study_affine(shape: tuple[int, int, int], voxel_mm: float) -> np.ndarray:
    """MNI-like affine centring the grid on ``BRAIN_CENTER_MM`` (voxel centres on whole mm)."""
    centre = np.asarray(BRAIN_CENTER_MM)
    origin = np.round(centre - voxel_mm * (np.asarray(shape) - 1) / 2.0)
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = origin
    return affine


def mm_grid(shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    ijk = np.indices(shape).reshape(3, -1).T
    return apply_affine(affine, ijk).reshape(*shape, 3)


def _ellipsoid(xyz: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    return (((xyz - centre) / radii) ** 2).sum(-1)


# ---------------------------------------------------------------------------------------------
# per-run pieces


def make_events(rng: np.random.Generator, n_scans: int, t_r: float) -> pd.DataFrame:
    """Randomly ordered 1.5 s face and house events, 4-7 s apart, with response times.

    Returns
    -------
    DataFrame
        ``onset``, ``duration``, ``trial_type``, ``response_time`` (NaN for about one event
        in eight: a missed response).
    """
    end = n_scans * t_r - 16.0
    onsets = [6.0]
    while onsets[-1] < end:
        onsets.append(onsets[-1] + float(rng.uniform(4.0, 7.0)))
    onsets = np.round(np.asarray(onsets[:-1]), 2)
    trial = rng.permutation(np.resize(np.array(CONDITIONS), onsets.size))
    rt = np.round(rng.uniform(0.45, 1.1, onsets.size), 3)
    rt[rng.random(onsets.size) < 0.125] = np.nan
    return pd.DataFrame(
        {"onset": onsets, "duration": 1.5, "trial_type": trial, "response_time": rt}
    )


def make_motion(rng: np.random.Generator, n_scans: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Residual head motion (mm, rad) as random walks, with a few abrupt jerks.

    Returns
    -------
    motion : DataFrame
        The six parameters ``trans_x .. rot_z``.
    jerks : (k,) ndarray of int
        Scans at which a jerk (framewise displacement well above 0.5 mm) happens.
    """
    steps = np.column_stack(
        [rng.normal(0, 0.03, (n_scans, 3)), rng.normal(0, 0.0004, (n_scans, 3))]
    )
    n_jerks = int(rng.poisson(1.0))
    jerks = np.sort(rng.choice(np.arange(5, n_scans - 5), n_jerks, replace=False))
    for t in jerks:
        steps[t, :3] += rng.choice([-1.0, 1.0], 3) * rng.uniform(0.3, 0.5, 3)
    steps[0] = 0.0
    return pd.DataFrame(np.cumsum(steps, axis=0), columns=list(MOTION)), jerks


def framewise_displacement(motion: pd.DataFrame, *, radius: float = 50.0) -> np.ndarray:
    """Power et al.'s FD: sum of absolute scan-to-scan changes, rotations as arc length (mm).

    The first scan has no predecessor: NaN, as fMRIPrep's ``n/a``.
    """
    diff = np.abs(np.diff(motion[list(MOTION)].to_numpy(), axis=0))
    fd = diff[:, :3].sum(1) + radius * diff[:, 3:].sum(1)
    return np.concatenate([[np.nan], fd])


def _expand(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """fMRIPrep's expansion of one regressor: itself, derivative1, power2, derivative1_power2."""
    deriv = np.concatenate([[np.nan], np.diff(values)])
    return {
        name: values,
        f"{name}_derivative1": deriv,
        f"{name}_power2": values**2,
        f"{name}_derivative1_power2": deriv**2,
    }


def _cosines(n_scans: int, t_r: float, period: float = 128.0) -> np.ndarray:
    """fMRIPrep's DCT high-pass basis (``cosine00 ..``) for a ``period`` s cut-off."""
    order = int(np.floor(2 * n_scans * t_r / period))
    k = np.arange(1, order + 1)
    return np.sqrt(2.0 / n_scans) * np.cos(
        np.pi / n_scans * (np.arange(n_scans)[:, None] + 0.5) * k
    )


def make_confounds(
    rng: np.random.Generator,
    motion: pd.DataFrame,
    global_signal: np.ndarray,
    t_r: float,
) -> pd.DataFrame:
    """An fMRIPrep-like confounds table (column order and ``n/a`` as fMRIPrep writes them)."""
    n = len(motion)
    slow = np.cumsum(rng.normal(0, 1, (n, 2)), axis=0)
    cols: dict[str, np.ndarray] = {}
    cols.update(_expand("global_signal", global_signal))
    cols.update(_expand("csf", 900.0 + 3.0 * slow[:, 0] + rng.normal(0, 4, n)))
    cols.update(_expand("white_matter", 600.0 + 2.0 * slow[:, 1] + rng.normal(0, 2, n)))
    fd = framewise_displacement(motion)
    dvars = np.concatenate([[np.nan], 10.0 + 20.0 * fd[1:] + rng.gamma(4.0, 1.0, n - 1)])
    cols["std_dvars"] = dvars / np.nanmedian(dvars)
    cols["dvars"] = dvars
    cols["framewise_displacement"] = fd
    cols["rmsd"] = np.concatenate([[np.nan], 0.6 * fd[1:]])
    comps = ndimage.gaussian_filter1d(rng.standard_normal((n, 6)), 1.5, axis=0)
    comps /= np.linalg.norm(comps - comps.mean(0), axis=0)
    for i in range(6):
        cols[f"a_comp_cor_{i:02d}"] = comps[:, i] - comps[:, i].mean()
    for i, cosine in enumerate(_cosines(n, t_r).T):
        cols[f"cosine{i:02d}"] = cosine
    for name in MOTION:
        cols.update(_expand(name, motion[name].to_numpy()))
    for k, t in enumerate(np.flatnonzero(fd > FMRIPREP_FD_THRESHOLD)):
        spike = np.zeros(n)
        spike[t] = 1.0
        cols[f"motion_outlier{k:02d}"] = spike
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------------------------------
# anatomy and signal


def subject_brain(rng: np.random.Generator, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A subject's brain (bool) and the full-volume baseline (brain, scalp shell, zero beyond)."""
    centre = np.asarray(BRAIN_CENTER_MM) + rng.normal(0, 1.5, 3)
    radii = np.asarray(BRAIN_RADII_MM) * (1 + rng.normal(0, 0.03, 3))
    r2 = _ellipsoid(xyz, centre, radii)
    brain = r2 < 1.0
    field = ndimage.gaussian_filter(rng.standard_normal(brain.shape), 1.5)
    field /= field[brain].std()
    tissue = np.clip(550.0 + 150.0 * field - 120.0 * r2, 200.0, 900.0)
    scalp = (r2 >= 1.0) & (r2 < 1.3)
    baseline = np.where(brain, tissue, np.where(scalp, 320.0, 0.0))
    return brain, baseline.astype(np.float32)


def run_mask(rng: np.random.Generator, brain: np.ndarray) -> np.ndarray:
    """The subject's brain minus a random tenth of its edge voxels (masks differ by run)."""
    edge = brain & ~ndimage.binary_erosion(brain)
    drop = edge & (rng.random(brain.shape) < 0.1)
    return brain & ~drop


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], rho: float = 0.3) -> np.ndarray:
    """Stationary unit-variance AR(1) noise along the last axis, float32."""
    innovations = rng.standard_normal(shape, dtype=np.float32)
    scale = np.float32(np.sqrt(1 - rho**2))
    first = innovations[..., :1]  # x_0 = e_0, then x_t = rho x_(t-1) + scale e_t
    noise, _ = signal.lfilter(
        np.array([scale]),
        np.array([1.0, -rho], np.float32),
        innovations,
        axis=-1,
        zi=(1 - scale) * first,
    )
    return noise.astype(np.float32)


def response_maps(
    rng: np.random.Generator, shape: tuple[int, ...], affine: np.ndarray
) -> dict[str, np.ndarray]:
    """This subject's face and house response maps (percent per unit regressor)."""
    gains = 1.0 + SUBJECT_AMPLITUDE_SD * rng.standard_normal(3)
    face = blob_map([FACE_BLOB], shape, affine) * np.float32(gains[0])
    house = blob_map([HOUSE_BLOB], shape, affine) * np.float32(gains[1])
    visual = blob_map([VISUAL_BLOB], shape, affine) * np.float32(gains[2])
    return {"face": face + visual, "house": house + visual}


def simulate_run(
    rng: np.random.Generator,
    *,
    baseline: np.ndarray,
    brain: np.ndarray,
    responses: dict[str, np.ndarray],
    n_scans: int,
    t_r: float,
    slice_time_ref: float,
    voxel_mm: float,
    noise_pct: float,
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """One run's preprocessed BOLD, its events and its motion.

    Returns
    -------
    bold : (X, Y, Z, n_scans) ndarray of float32
    events : DataFrame
        See :func:`make_events`.
    motion : DataFrame
        See :func:`make_motion`; ``jerks`` are folded into the data as global spikes.
    """
    frame_times = make_frame_times(n_scans, t_r, slice_time_ref)
    events = make_events(rng, n_scans, t_r)
    design = make_first_level_design(
        frame_times, events[["onset", "duration", "trial_type"]], drift_model=None
    ).to_frame()
    psc = np.zeros((*baseline.shape, n_scans), dtype=np.float32)
    for cond in CONDITIONS:
        psc += responses[cond][..., None] * design[cond].to_numpy(dtype=np.float32)
    drift = np.linspace(-0.5, 0.5, n_scans, dtype=np.float32)
    psc += np.float32(rng.normal(0, 0.6)) * drift + np.float32(noise_pct) * _ar1(rng, psc.shape)
    bold = baseline[..., None] * (1 + psc / np.float32(100))
    motion, jerks = make_motion(rng, n_scans)
    gradient = np.gradient(baseline, voxel_mm)
    shift = motion[["trans_x", "trans_y", "trans_z"]].to_numpy(dtype=np.float32)
    for axis in range(3):
        bold -= gradient[axis][..., None] * shift[:, axis]
    for t in jerks:
        bold[..., t] += np.float32(0.015) * baseline * brain
    # stored to 1/64 of a unit: far below the noise, and the files compress well
    return (np.round(bold * np.float32(64)) / np.float32(64)).astype(np.float32), events, motion


# ---------------------------------------------------------------------------------------------
# slice timing


def slice_timing(t_r: float, n_slices: int = _N_SLICES) -> list[float]:
    """Interleaved ascending slice times (even slices first), seconds."""
    order = list(range(0, n_slices, 2)) + list(range(1, n_slices, 2))
    times = np.empty(n_slices)
    times[order] = np.arange(n_slices) * t_r / n_slices
    return [round(float(t), 4) for t in times]


def start_time(t_r: float) -> float:
    """fMRIPrep's slice-timing reference: the middle of the slice acquisition range."""
    times = slice_timing(t_r)
    return round(0.5 * (min(times) + max(times)), 3)
