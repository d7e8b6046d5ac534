"""Run one lab's tests in a fresh `python -m pytest` and read back what happened to each test.

`check` and the proof both run labs this way: in a subprocess, so a student's server that
hangs or a starter that crashes cannot take the caller down with it, and under a deadline, after
which the whole process group is killed. Results come from pytest's JUnit XML file.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from unicorn.labs.catalog import ROOT, Lab
from unicorn.labs.impl import VARIABLE

# A whole run of one lab's tests, stuck or not, ends after this many seconds.
TIMEOUT = 180.0

# Test names carry their lab and part: test_03b_obs_fold_is_refused is lab 3, part b.
PART_RE = re.compile(r"test_(\d\d)([a-z])_")

# pytest's exit statuses (pytest.ExitCode), the two the proof tells apart.
TESTS_FAILED = 1
COLLECTION_OR_USAGE_ERROR = (2, 3, 4)


@dataclass
class Outcome:
    """One test's result: `message` is the first line of its failure, empty when it passed."""

    name: str
    part: str | None
    passed: bool
    message: str = ""


@dataclass
class Run:
    """One pytest run of a lab's tests."""

    exit_code: int | None  # None when the deadline killed it
    outcomes: list[Outcome] = field(default_factory=list)
    output: str = ""

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.passed]

    @property
    def collection_failed(self) -> bool:
        return self.exit_code in COLLECTION_OR_USAGE_ERROR


def pytest_command(lab: Lab, part: str | None = None) -> list[str]:
    """The command a student can also type: the lab's tests, or one part of them."""
    command = [sys.executable, "-m", "pytest", str(lab.directory.relative_to(ROOT) / "tests"),
               "-q", "-p", "no:cacheprovider"]
    if part:
        command += ["-k", f"test_{lab.number:02d}{part}_"]
    return command


def run_lab(lab: Lab, choice: str, part: str | None = None, timeout: float = TIMEOUT) -> Run:
    """Run `lab`'s tests with LAB_IMPL=`choice` (one part, or all) and collect the outcomes."""
    with tempfile.TemporaryDirectory(prefix="unicorn-lab-") as scratch:
        report = Path(scratch) / "report.xml"
        command = [*pytest_command(lab, part), f"--junitxml={report}", "-o", "junit_family=xunit2"]
        env = dict(os.environ, **{VARIABLE: choice})
        exit_code, output = _run_with_deadline(command, env, timeout)
        outcomes = read_report(report) if report.exists() else []
    return Run(exit_code, outcomes, output)


def _run_with_deadline(command: list[str], env: dict, timeout: float) -> tuple[int | None, str]:
    """Run `command`; past `timeout`, kill its whole process group (servers it started too)."""
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", start_new_session=True)
    try:
        output, _ = child.communicate(timeout=timeout)
        return child.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        return None, output + f"\n(killed: still running after {timeout:.0f} s)"


def read_report(path: Path) -> list[Outcome]:
    """One Outcome per <testcase> of pytest's JUnit XML report."""
    outcomes = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        match = PART_RE.match(name)
        # A skipped test proves nothing, so it counts as not passed.
        problem = next((found for tag in ("failure", "error", "skipped")
                        if (found := case.find(tag)) is not None), None)
        message = "" if problem is None else first_line(problem.get("message") or problem.text)
        if problem is not None and problem.tag == "skipped":
            message = f"skipped: {message}"
        outcomes.append(Outcome(name, match.group(2) if match else None, problem is None, message))
    return outcomes


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"
