"""Run the book's Python examples as tests (Sybil reads the MyST sources).

Every ```python block in a chapter runs, in order, in one namespace per page; a block that
holds ``>>>`` lines is a doctest and its printed results are checked. A reader who types an
example from the book gets what the book says.
"""

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["*.md"],
    excludes=["_build/*"],
).pytest()
