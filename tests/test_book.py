"""The book builds, with warnings as errors, from the code as it is now.

Chapters include unicorn's functions by name and run the commands whose output they show,
so this build is where the book and the code are held together: rename a function a chapter
shows, or change what a command prints so that a chapter's example fails, and this test fails.
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def need_graphviz() -> None:
    """The diagrams are drawn by graphviz's ``dot`` at build time."""
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("the book's diagrams need graphviz: apt-get install graphviz")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    need_graphviz()
    output = tmp_path_factory.mktemp("book")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q",
         "-c", str(ROOT), "-b", "html", str(BOOK), str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0, f"the book did not build:\n{build.stdout}\n{build.stderr}"
    return output


def test_the_book_builds_without_warnings(built_book: Path) -> None:
    assert (built_book / "index.html").is_file()


def test_the_settings_reference_lists_every_setting(built_book: Path) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "unicorn", "--print-config", "--chdir", "examples", "hello:app"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    names = [line.split(" = ")[0] for line in printed.splitlines() if " = " in line]
    assert len(names) > 40
    page = (built_book / "appendix-a-settings.html").read_text()
    missing = [name for name in names if f"<span class=\"pre\">{name}</span>" not in page]
    assert not missing, f"settings missing from the reference: {missing}"


def test_no_code_is_pasted_into_the_book() -> None:
    """Listings of unicorn's code come by inclusion; a python block must not retype it."""
    code_lines = {
        line.strip()
        for source in (ROOT / "unicorn").rglob("*.py")
        for line in source.read_text().splitlines()
        if len(line.strip()) > 30 and not line.strip().startswith("#")
    }
    for page in BOOK.glob("*.md"):
        for block in re.findall(r"```+\{?(?:python|py)\}?\n(.*?)```", page.read_text(), re.S):
            retyped = [line for line in block.splitlines() if line.strip() in code_lines]
            assert len(retyped) < 3, f"{page.name} retypes unicorn's code: {retyped}"


def chapter_titles() -> set[str]:
    """The titles of the book's chapters, as modules cite them: '# 3. Parsing HTTP/1.1'."""
    titles = set()
    for page in BOOK.glob("[0-9][0-9]-*.md"):
        heading = page.read_text().splitlines()[0]
        titles.add(re.sub(r"^#\s+\d+\.\s+", "", heading))
    return titles


def test_every_lab_points_to_a_section_of_its_chapter() -> None:
    """A lab's failure messages send the student to a section; that heading must exist."""
    for lab in sorted((ROOT / "labs").glob("[0-9][0-9]-*/lab.toml")):
        chapter = BOOK / f"{lab.parent.name}.md"
        assert chapter.is_file(), f"lab {lab.parent.name} has no chapter {chapter.name}"
        headings = set(re.findall(r"^#{2,4} (.+?)\s*$", chapter.read_text(), re.M))
        for part, info in tomllib.loads(lab.read_text())["parts"].items():
            assert info["section"] in headings, (
                f"lab {lab.parent.name} part {part} cites a section {info['section']!r} "
                f"that {chapter.name} does not have")


def test_every_lab_is_named_in_its_chapter() -> None:
    for lab in sorted((ROOT / "labs").glob("[0-9][0-9]-*/")):
        chapter = BOOK / f"{lab.name}.md"
        assert f"labs/{lab.name}" in chapter.read_text(), f"{chapter.name} never names its lab"
