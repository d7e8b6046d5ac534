"""Tasks for developers: `nox` runs the tests and the linter; `nox -s docs` builds the book;
`nox -s labs` proves the labs; `nox -s bench` runs the benchmarks; `nox -s parity` compares
unicorn's answers to the request corpus with gunicorn's.

Arguments after `--` go to pytest (tests) or to both benchmark scripts (bench),
for example `nox -s bench -- --quick`.
"""

import os
import shutil

import nox

nox.options.sessions = ["tests", "lint"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "unicorn", "tests", "bench", "labs", "book", "conf.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the book into book/_build/html, with warnings as errors and nitpicky references.

    The diagrams need graphviz's `dot` (Debian package `graphviz`).
    """
    if shutil.which("dot") is None:
        session.error("The book's diagrams need graphviz: `apt-get install -y graphviz`.")
    session.install(".[docs]")
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-n", "-c", ".",
                "-b", "html", "book", "book/_build/html", *session.posargs)


@nox.session
def labs(session: nox.Session) -> None:
    """Prove every lab: unicorn passes it, its untouched starter fails it, its broken variants
    are caught (labs/README.md, "The proof")."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", "tests/test_labs.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Compare unicorn with gunicorn 27.0.1: the parser, then the threaded worker under wrk."""
    session.install(".[bench]", "h11")
    session.run("python", "bench/parser_bench.py", *session.posargs)
    if shutil.which("wrk") is None and not install_wrk(session):
        session.warn("Skipping bench/gthread_bench.py: it needs wrk. "
                     "Install it with `apt-get install -y wrk` (as root) and run again.")
        return
    session.run("python", "bench/gthread_bench.py", *session.posargs)


@nox.session
def parity(session: nox.Session) -> None:
    """Send tests/requests/ to unicorn and gunicorn 27.0.1; write where they differ, and why.

    The table goes to tests/requests/PARITY.md (or the file after `--`), which chapter 16
    includes; a case that differs without a reason in DIFFERENCES.md fails the session.
    """
    session.install(".", "gunicorn==27.0.1")
    output = session.posargs[0] if session.posargs else "tests/requests/PARITY.md"
    session.run("python", "-m", "tests.parity", "--output", output)


def install_wrk(session: nox.Session) -> bool:
    """Install wrk from Debian's archive when we are allowed to; say whether we did."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    session.run("apt-get", "update", external=True)
    session.run("apt-get", "install", "-y", "wrk", external=True)
    return shutil.which("wrk") is not None
