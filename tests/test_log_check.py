"""The suite's log check (tests/log_check.py) fails a test for a traceback it did not ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

INNER_LOG = """
import logging

_LOGGER = logging.getLogger("inner")


def log_error() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        _LOGGER.exception("Something broke")
"""

INNER_CONFTEST = """
import pytest

from inner_log import log_error
from log_check import log_check_records, pytest_runtest_teardown


@pytest.fixture(autouse=True)
def a_hass_like_fixture(request: pytest.FixtureRequest):
    \"\"\"Set up before the check's fixture, so it ends after it (as ``hass`` does).\"\"\"
    yield
    if request.node.get_closest_marker("unload_fails"):
        log_error()
"""

INNER_TESTS = """
import logging

from inner_log import _LOGGER, log_error
import pytest


@pytest.fixture
def breaks_at_teardown():
    yield
    log_error()  # as Home Assistant does when an entry fails to unload at the end of a test


def test_unasked_error() -> None:
    log_error()


def test_unasked_error_at_teardown(breaks_at_teardown: None) -> None:
    pass


@pytest.mark.unload_fails
def test_unasked_error_after_every_fixture() -> None:
    pass


def test_traceback_pasted_in_a_warning() -> None:
    _LOGGER.warning("Gave up:\\nTraceback (most recent call last):\\n  ...")


@pytest.mark.allow_traceback("the test provokes it", match="^Something else$")
def test_marker_for_another_message() -> None:
    log_error()


@pytest.mark.allow_traceback("the test provokes it")
def test_marked() -> None:
    log_error()


@pytest.mark.allow_traceback("the test provokes it", match="^Something broke$")
def test_marked_with_its_message() -> None:
    log_error()


def test_asserted_and_cleared(caplog: pytest.LogCaptureFixture) -> None:
    log_error()
    assert caplog.records[0].exc_info is not None
    caplog.clear()


def test_debug_detail_only() -> None:
    _LOGGER.debug("Full error:", exc_info=RuntimeError("handled, and said in one line"))


def test_plain_error_line() -> None:
    _LOGGER.error("Failed to connect")
"""

FAILING = [
    "test_unasked_error",
    "test_unasked_error_at_teardown",
    "test_unasked_error_after_every_fixture",
    "test_traceback_pasted_in_a_warning",
    "test_marker_for_another_message",
]


def test_log_check_fails_only_unasked_tracebacks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each unasked traceback errors its test; a marked or handled one, or a DEBUG one, not."""
    # Under CI, pytest prints the summary lines whole, repeating each message: count as locally.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    pytester.makepyfile(
        log_check=(Path(__file__).parent / "log_check.py").read_text(), inner_log=INNER_LOG
    )
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makeini(
        "[pytest]\nmarkers =\n    allow_traceback: see log_check.py\n    unload_fails\n"
    )
    pytester.makepyfile(test_inner=INNER_TESTS)
    # The inner run needs none of Home Assistant's fixtures (nor its socket guard or coverage).
    result = pytester.runpytest_subprocess(
        "-p", "no:homeassistant", "-p", "no:cacheprovider", "--strict-markers", "-rE"
    )
    # Every test body passes (10); the check errors the unasked ones at teardown.
    result.assert_outcomes(passed=10, errors=len(FAILING))
    result.stdout.fnmatch_lines([f"ERROR test_inner.py::{name} - *" for name in FAILING])
    output = result.stdout.str()
    assert output.count("traceback(s) this test did not ask for") == len(FAILING)
    assert "  ERROR inner: Something broke" in output
