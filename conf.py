"""Sphinx configuration for the unicorn book; the sources are in book/.

Build it with ``nox -s docs``, or by hand:
``python -m sphinx -W -n -c . -b html book book/_build/html``.
The build is offline (no intersphinx, nothing from a CDN), runs the commands whose output
the chapters show, and draws the diagrams with graphviz, so ``dot`` must be installed
(Debian package ``graphviz``); the benchmark plot is drawn with matplotlib, from
bench/recorded.json.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "book" / "_ext")]

project = "unicorn: a pre-fork WSGI server, read from the inside"
author = "the unicorn authors"
copyright = "2026, the unicorn authors"

extensions = ["myst_parser", "sphinx.ext.graphviz", "runoutput", "settingsref", "benchplot"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext", "README.md"]

nitpicky = True
graphviz_output_format = "svg"
html_theme = "furo"
html_title = "unicorn"
html_static_path: list[str] = []
