"""What preparation hands to inference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from glmreport.inputs.masking import Masker
from glmreport.pipeline.prepared import Prepared, quiet


def test_prepared_is_frozen_with_empty_defaults():
    masker = Masker(mask=np.ones((2, 2, 2), bool), affine=np.eye(4))
    prepared = Prepared(
        masker=masker, data=None, fit=None, table=None, contrasts=(), model={"level": "maps"}
    )
    assert prepared.extra_designs == {} and prepared.inputs == [] and prepared.design is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        prepared.data = np.zeros(1)  # type: ignore[misc]
    assert quiet("anything") is None
