"""Which labs exist, what their parts are, and where the book explains them.

A lab is a directory `labs/NN-topic/` with a `lab.toml` (its title and parts), a README, a
`starter/` and a `tests/`. Its number is its chapter's number, and its directory name is also
the name of its chapter's file in the book (`labs/03-parsing` <-> `book/03-parsing.md`).
Broken variants are the modules of `unicorn/labs/broken/labNN/`. Plain data, read on demand:
adding a lab means adding a directory, never editing this file.
"""

import pkgutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

# The repository: labs/ and book/ sit beside the unicorn package. When unicorn was installed
# rather than run from a checkout, the labs are wherever the student runs the command from.
ROOT = Path(__file__).resolve().parents[2]
if not (ROOT / "labs").is_dir():
    ROOT = Path.cwd()
LABS_DIR = ROOT / "labs"

# The book's chapters. Their titles are fixed: labs and tests quote them.
CHAPTERS = {
    1: "WSGI",
    2: "Sockets and binding",
    3: "Parsing HTTP/1.1",
    4: "The WSGI gateway",
    5: "The sync worker",
    6: "The pre-fork model",
    7: "Signals",
    8: "Heartbeats and timeouts",
    9: "Threads and keep-alive",
    10: "Configuration",
    11: "Logging",
    12: "Behind nginx",
    13: "Running under systemd",
    14: "Reloads and upgrades",
    15: "Load testing",
    16: "Security",
}


@dataclass(frozen=True)
class Part:
    """One part of a lab: its letter, what the student builds, and the book section about it."""

    letter: str
    title: str
    section: str


@dataclass(frozen=True)
class Lab:
    """One lab, as its directory and lab.toml describe it."""

    number: int
    directory: Path
    title: str
    parts: tuple[Part, ...]
    # Process labs start servers and race them; `check --repeat N` is worth using on them.
    processes: bool = False

    @property
    def name(self) -> str:
        """The directory name, e.g. "03-parsing"."""
        return self.directory.name

    @property
    def chapter(self) -> str:
        return CHAPTERS[self.number]

    @property
    def book_file(self) -> str:
        """The chapter's file, relative to the repository."""
        return f"book/{self.name}.md"

    def part(self, letter: str) -> Part:
        for part in self.parts:
            if part.letter == letter:
                return part
        letters = ", ".join(part.letter for part in self.parts)
        raise KeyError(f"lab {self.number} has no part {letter!r} (its parts: {letters})")

    def where(self, section: str) -> str:
        """The one-line pointer into the book that every failing test ends with."""
        return f'see the book, chapter {self.number} "{self.chapter}", section "{section}"'

    def broken_variants(self) -> list[str]:
        """The names LAB_IMPL=broken:NAME accepts for this lab."""
        package = Path(__file__).parent / "broken" / f"lab{self.number:02d}"
        return sorted(info.name for info in pkgutil.iter_modules([str(package)])
                      if not info.name.startswith("_"))


def all_labs() -> list[Lab]:
    """Every lab under labs/, in chapter order."""
    return [read_lab(path.parent) for path in sorted(LABS_DIR.glob("[0-9][0-9]-*/lab.toml"))]


def find_lab(number: int | str) -> Lab:
    """The lab for chapter `number` ("3", "03" and 3 all work)."""
    wanted = int(number)
    for lab in all_labs():
        if lab.number == wanted:
            return lab
    raise LookupError(f"there is no lab {wanted}; `python -m unicorn.labs list` shows them all")


def lab_of_path(path: Path) -> Lab:
    """The lab a test file belongs to: the labs/NN-topic/ directory above it."""
    for parent in Path(path).resolve().parents:
        if parent.parent == LABS_DIR.resolve():
            return read_lab(parent)
    raise LookupError(f"{path} is not inside a labs/NN-topic/ directory")


def read_lab(directory: Path) -> Lab:
    """Read labs/NN-topic/lab.toml."""
    with open(directory / "lab.toml", "rb") as file:
        data = tomllib.load(file)
    parts = tuple(Part(letter, part["title"], part["section"])
                  for letter, part in data["parts"].items())
    return Lab(int(directory.name[:2]), directory, data["title"], parts,
               data.get("processes", False))
