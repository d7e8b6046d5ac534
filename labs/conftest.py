"""Fixtures every lab's tests share. Loaded only when pytest collects under labs/.

The main suite (testpaths = ["tests"]) never collects labs/*/tests directly: tests/test_labs.py
runs them in subprocesses instead, once per implementation (see unicorn/labs/proof.py).
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from unicorn.labs.catalog import lab_of_path
from unicorn.labs.impl import Implementation
from unicorn.labs.testing import Process

# Enough examples to find the usual mistakes, few enough that the proof of every lab stays quick.
# No example database: a lab run leaves nothing behind in the student's directory. No "explain"
# phase: it costs seconds per failing test, and the shrunk example already tells the story.
settings.register_profile("labs", max_examples=40, deadline=None, database=None,
                          phases=[Phase.explicit, Phase.generate, Phase.shrink],
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("labs")


@pytest.fixture(scope="module")
def impl(request) -> Implementation:
    """The implementation LAB_IMPL selects, for the lab this test file belongs to.

    Asked for inside tests rather than imported at the top of the file, so that a starter
    which does not work yet fails its tests one by one instead of breaking their collection.
    """
    return Implementation(lab_of_path(request.path))


@pytest.fixture
def start():
    """start(argv, env, cwd=None) -> Process; every process started is killed at teardown."""
    started: list[Process] = []

    def start_process(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Process:
        process = Process(argv, env, cwd)
        started.append(process)
        return process

    yield start_process
    for process in started:
        process.kill()


@pytest.fixture
def short_tmp():
    """A temporary directory with a short path: a unix socket's path must fit in 107 bytes."""
    path = Path(tempfile.mkdtemp(prefix="lab-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def pytest_configure(config) -> None:
    # hypothesis imports libcst to print a failing example, and libcst warns about its own imports.
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:libcst.*")
