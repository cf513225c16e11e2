"""Task failures: kinds, messages, caps and pickling of the reporting exceptions."""

from __future__ import annotations

import pickle

import pytest

from glmreport.errors import GlmReportError, InputError
from glmreport.pipeline.execution.failures import (
    Done,
    RemoteTraceback,
    TaskError,
    TaskFailure,
    TaskInternalError,
    WorkerLostError,
    cap,
    catch,
    raise_failure,
)


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the test wants the traceback
        return caught


def test_kinds_follow_the_exception_type():
    bad_input = catch(_raised(InputError("file x.nii is truncated")))
    assert bad_input.kind == "input" and bad_input.error_type == "glmreport.errors.InputError"
    assert "raise exc" in bad_input.traceback
    bug = catch(_raised(ZeroDivisionError("division by zero")))
    assert (bug.kind, bug.error_type) == ("internal", "ZeroDivisionError")
    assert catch(_raised(OSError("gone")), "worker").kind == "worker"


def test_descriptions_name_the_task():
    failure = catch(_raised(InputError("bad mask"))).named("sub-01 run-2")
    assert failure.describe() == "sub-01 run-2: bad mask"
    assert isinstance(failure.exception(), TaskError)
    bug = catch(_raised(KeyError("k"))).named("t")
    assert bug.describe() == "internal error in task t: KeyError: 'k'"
    assert isinstance(bug.exception(), TaskInternalError)
    assert not isinstance(bug.exception(), GlmReportError)  # a bug is not a user error
    lost = catch(_raised(OSError()), "worker").named("t")
    assert lost.describe() == "task t was lost: OSError"
    assert isinstance(lost.exception(), WorkerLostError)


def test_messages_and_tracebacks_are_capped():
    assert cap("abcdef", 3) == "abc..." and cap("abcdef", 3, tail=True) == "...def"
    caught = catch(_raised(ValueError("x" * 5000)))
    assert len(caught.message) <= 1003


def test_reporting_exceptions_pickle_with_their_failure():
    failure = TaskFailure(task="t", kind="input", error_type="E", message="m", traceback="tb")
    error = pickle.loads(pickle.dumps(TaskError(failure)))
    assert str(error) == "t: m" and error.task == "t" and error.traceback_text == "tb"


def test_raise_failure_chains_the_remote_traceback():
    failure = TaskFailure(task="t", kind="internal", error_type="E", message="m", traceback="tb")
    with pytest.raises(TaskInternalError) as info:
        raise_failure(Done(0, None, failure))
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert str(info.value.__cause__) == "\ntb"
