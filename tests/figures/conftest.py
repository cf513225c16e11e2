"""The anatomical background every brain-figure test draws on (loaded once)."""

from __future__ import annotations

import pytest

from glmreport.figures.display import Background, load_background


@pytest.fixture(scope="module")
def background() -> Background:
    return load_background()
