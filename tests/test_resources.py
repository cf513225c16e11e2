"""Where glmreport finds its bundled templates and atlases."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from glmreport.resources import atlases_dir, template_image, templates_dir


def test_templates_folder_holds_the_report_template():
    assert (templates_dir() / "report.html.j2").is_file()
    assert (templates_dir() / "partials").is_dir()


def test_bundled_template_and_mask_share_a_2mm_grid():
    t1, mask = nib.load(template_image("T1w")), nib.load(template_image("mask"))
    assert template_image().parent == atlases_dir()
    assert t1.shape == mask.shape
    np.testing.assert_allclose(t1.affine, mask.affine)
    np.testing.assert_allclose(np.abs(np.diag(t1.affine)[:3]), 2.0)
    values = np.unique(np.asarray(mask.dataobj))
    assert set(values.tolist()) <= {0, 1}


def test_unknown_template_kind_is_a_key_error():
    with pytest.raises(KeyError):
        template_image("bold")


def test_usable_cores_follow_the_cpu_affinity(monkeypatch):
    """The cores this process may run on, not the machine's; the machine's where the system
    reports no affinity; never fewer than one."""
    import os

    from glmreport.resources import usable_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 1
    monkeypatch.delattr(os, "sched_getaffinity")
    assert usable_cores() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cores() == 1


def test_single_blas_thread_limits_and_restores_blas():
    import numpy as np  # noqa: F401 - loads a BLAS
    from threadpoolctl import threadpool_info, threadpool_limits

    from glmreport.resources import blas_controller, single_blas_thread

    def blas_threads():
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and max(before) == 2
        with single_blas_thread():
            assert set(blas_threads()) == {1}
        assert blas_threads() == before
    controller = blas_controller()
    assert blas_controller() is controller  # kept while no module is imported


def _threads_in_a_worker(_: int) -> int:
    from glmreport.resources import block_threads

    return block_threads(8, 4)


def test_blocks_run_on_threads_only_in_the_main_thread_of_the_main_process():
    """Up to ``most`` threads here; one in a pool's thread and in a worker process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from glmreport.resources import block_threads

    assert block_threads(8, 4) == 4 and block_threads(3, 4) == 3 and block_threads(0, 4) == 1
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(block_threads, 8, 4).result() == 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        assert pool.submit(_threads_in_a_worker, 0).result() == 1
