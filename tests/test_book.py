"""The book builds, with warnings as errors, from the code as it is now.

Chapters include unicorn's functions by name and run the commands whose output they show,
so this build is where the book and the code are held together: rename a function a chapter
shows, or change what a command prints so that a chapter's example fails, and this test fails.
"""

import ast
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


def test_every_module_docstring_names_chapters_that_exist() -> None:
    titles = chapter_titles()
    for source in (ROOT / "unicorn").rglob("*.py"):
        if "labs" in source.relative_to(ROOT).parts:
            continue
        docstring = ast.get_docstring(ast.parse(source.read_text())) or ""
        cited = re.search(r"Explained in the chapters? (.*?)\.\s*$", docstring, re.M)
        assert cited, f"{source.relative_to(ROOT)} does not say which chapter explains it"
        for title in re.findall(r'"([^"]+)"', cited.group(1)):
            assert title in titles, f"{source.relative_to(ROOT)} cites a chapter {title!r} the book lacks"


def test_explain_names_chapters_that_exist() -> None:
    """--explain ends each line with the chapter to read; each must be a real chapter."""
    titles = chapter_titles()
    for source in (ROOT / "unicorn").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "explain" and len(node.args) == 2
                    and isinstance(node.args[1], ast.Constant)):
                assert node.args[1].value in titles, (
                    f"{source.relative_to(ROOT)}:{node.lineno} names a chapter "
                    f"{node.args[1].value!r} the book lacks")


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


def prose_words(page: Path) -> int:
    """Words outside code blocks and directives: what a reader reads as text."""
    text = re.sub(r"(?s)```.*?```", "", page.read_text())
    return len(text.split())


def test_every_chapter_is_real_prose_around_unicorns_own_code() -> None:
    chapters = sorted(BOOK.glob("[0-9][0-9]-*.md"))
    assert [page.name[:2] for page in chapters] == [f"{n:02}" for n in range(1, 18)]
    for page in chapters:
        assert prose_words(page) >= 1200, f"{page.name} has only {prose_words(page)} words"
        assert "```{literalinclude} ../unicorn/" in page.read_text(), (
            f"{page.name} shows none of unicorn's code")
        assert "```{run}" in page.read_text(), f"{page.name} runs nothing the reader can see"


def test_every_chapters_challenges_start_from_its_lab() -> None:
    for lab in sorted((ROOT / "labs").glob("[0-9][0-9]-*/")):
        chapter = (BOOK / f"{lab.name}.md").read_text()
        challenges = chapter[chapter.index("## Challenges"):]
        assert f"labs/{lab.name}/" in challenges, f"{lab.name}.md: its challenges never name its lab"
