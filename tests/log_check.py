"""Fail a test whose log holds a traceback the test did not ask for.

A traceback in the log is a real error until a test says otherwise; buried among expected ones it
goes unseen. So every test (through the hook and fixture below, imported by ``conftest.py``) fails
at teardown when a log record of its setup, call or teardown, at WARNING or above, carries an
exception (``exc_info``, a stack) or the text "Traceback". DEBUG and INFO are left alone: Home
Assistant adds the full exception at DEBUG to every failure it handles (a coordinator's "Full
error:", a config entry's "Full exception"), next to the one-line warning a user sees. A test that
provokes one on purpose either:

- asserts on the record and then calls ``caplog.clear()`` (the record is then handled), or
- is marked ``@pytest.mark.allow_traceback("why", match="regex")``: records whose message matches
  ``match`` (any record, without it) are allowed.
"""

from __future__ import annotations

from collections.abc import Generator
import logging
import re

import pytest

MARKER = "allow_traceback"


def has_traceback(record: logging.LogRecord) -> bool:
    """Whether ``record`` is a warning or error with a traceback (exception, stack or text)."""
    if record.levelno < logging.WARNING:
        return False
    if record.exc_info or record.exc_text or record.stack_info:
        return True
    return "Traceback" in record.getMessage()


def allowed(record: logging.LogRecord, marker: pytest.Mark | None) -> bool:
    """Whether the test's ``allow_traceback`` marker covers ``record``."""
    if marker is None:
        return False
    match = marker.kwargs.get("match")
    return match is None or re.search(match, record.getMessage()) is not None


def describe(record: logging.LogRecord) -> str:
    """One line naming the record: level, logger and message (the traceback is in the log below)."""
    return f"{record.levelname} {record.name}: {record.getMessage().splitlines()[0][:200]}"


CAPLOG: pytest.StashKey[pytest.LogCaptureFixture] = pytest.StashKey()


@pytest.fixture(autouse=True)
def log_check_records(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> None:
    """Give the teardown hook below the test's log records (through the public ``caplog``)."""
    request.node.stash[CAPLOG] = caplog


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None]:
    """Fail the test if its log has a traceback it did not ask for (see the module docstring).

    A hook, not a fixture's teardown: it runs after every fixture has ended, ``hass`` included
    (whose config-entry unloads log too), and, being the innermost wrapper, while pytest still
    holds the test's records.
    """
    yield
    caplog = item.stash.get(CAPLOG, None)
    if caplog is None:  # the test never started
        return
    marker = item.get_closest_marker(MARKER)
    unexpected = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if has_traceback(record) and not allowed(record, marker)
    ]
    if unexpected:
        lines = "\n".join(f"  {describe(record)}" for record in unexpected)
        pytest.fail(
            f"The log has {len(unexpected)} traceback(s) this test did not ask for:\n{lines}\n"
            "Fix the cause, or assert on the record and call caplog.clear(), or mark the test "
            f'@pytest.mark.{MARKER}("why", match="...").',
            pytrace=False,
        )


UNEXPECTED_FLOW_ERROR = pytest.mark.allow_traceback(
    "an unexpected error in a flow is logged with its traceback, as Home Assistant's flows do",
    match="^Unexpected error while reading the dashboard$",
)
"""For flow tests that raise an error the flows don't know on purpose."""
