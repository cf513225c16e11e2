"""Fixtures of the labels tests."""

from __future__ import annotations

import signal

import pytest


@pytest.fixture
def no_hang():
    """Fail (instead of hanging) if a test takes more than 60 s."""

    def _alarm(signum, frame):
        raise TimeoutError("test exceeded 60 s (network hang?)")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
