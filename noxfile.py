"""Tasks for developers: `nox` runs the tests and the linter; `nox -s docs` builds the book;
`nox -s labs` proves the labs; `nox -s bench` runs the benchmarks.

Arguments after `--` go to pytest (tests) or to bench/compare.py (bench),
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
    """Compare unicorn with gunicorn 27.0.1 (bench/README.md): every scenario, one table,
    results.json and results.png in bench/results/ (or `-- --out DIR`); `-- --quick` for a
    smoke run."""
    session.install(".[bench]")
    if shutil.which("wrk") is None and not install_wrk(session):
        session.error("bench/compare.py needs wrk: `apt-get install -y wrk` (as root).")
    session.run("python", "bench/compare.py", *session.posargs)


def install_wrk(session: nox.Session) -> bool:
    """Install wrk from Debian's archive when we are allowed to; say whether we did."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    session.run("apt-get", "update", external=True)
    session.run("apt-get", "install", "-y", "wrk", external=True)
    return shutil.which("wrk") is not None
