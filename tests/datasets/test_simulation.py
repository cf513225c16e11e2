"""The pieces of the synthetic BIDS study: grids, events, motion, confounds, slice timing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glmreport.datasets.simulation import (
    BRAIN_CENTER_MM,
    CONDITIONS,
    MOTION,
    framewise_displacement,
    make_events,
    make_motion,
    mm_grid,
    slice_timing,
    start_time,
    study_affine,
)


def test_grid_is_centred_on_the_brain():
    shape = (21, 25, 21)
    affine = study_affine(shape, 4.0)
    xyz = mm_grid(shape, affine)
    centre = xyz[10, 12, 10]
    np.testing.assert_allclose(centre, np.round(BRAIN_CENTER_MM), atol=2.0)
    assert np.all(np.mod(affine[:3, 3], 1) == 0)  # voxel centres on whole mm


def test_events_are_ordered_spaced_and_balanced():
    events = make_events(np.random.default_rng(0), 100, 2.0)
    gaps = np.diff(events["onset"])
    assert (gaps >= 4.0 - 0.01).all() and (gaps <= 7.0 + 0.01).all()
    assert events["onset"].iloc[-1] < 100 * 2.0 - 16.0
    assert set(events["trial_type"]) == set(CONDITIONS)
    counts = events["trial_type"].value_counts()
    assert abs(counts.iloc[0] - counts.iloc[1]) <= 1


def test_framewise_displacement_of_known_motion():
    motion = pd.DataFrame(np.zeros((4, 6)), columns=list(MOTION))
    motion.loc[2:, "trans_x"] = 0.3
    motion.loc[3:, "rot_z"] = 0.01
    fd = framewise_displacement(motion)
    assert np.isnan(fd[0])
    np.testing.assert_allclose(fd[1:], [0.0, 0.3, 50.0 * 0.01])
    walk, jerks = make_motion(np.random.default_rng(3), 80)
    assert list(walk.columns) == list(MOTION) and (walk.iloc[0] == 0).all()
    assert all(framewise_displacement(walk)[t] > 0.5 for t in jerks)


def test_slice_timing_is_interleaved_within_the_tr():
    times = slice_timing(2.0, 4)
    assert times == [0.0, 1.0, 0.5, 1.5]
    assert 0 < start_time(2.0) < 2.0
