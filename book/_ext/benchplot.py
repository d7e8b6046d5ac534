"""The ``bench-plot`` directive: the benchmark plot, drawn from a recorded run at build time.

``python bench/compare.py --record`` writes bench/recorded.json, the run whose table
bench/README.md shows. This directive reads that file back with bench/report.py and draws it
with the same ``draw_plot`` that compare.py uses, into the build directory, so the plot in the
book is always the table's run, and no picture is ever committed or written into the sources.

    ```{bench-plot} ../bench/recorded.json
    :alt: what the picture shows, for a reader who cannot see it
    ```
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

DEFAULT_ALT = ("A bar per benchmark row: unicorn's advantage over its anchor as the median ratio "
               "of the rounds, a whisker from the worst round's ratio to the best's, and a "
               "vertical line at 1, where the two servers are equal.")


class BenchPlot(SphinxDirective):
    """An image node whose picture is drawn now, from the recording named in the argument."""

    required_arguments = 1
    option_spec = {"alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from bench import report

        recording = Path(self.env.relfn2path(self.arguments[0])[1])
        # Redraw when the run is recorded again, or when the drawing code changes.
        self.env.note_dependency(str(recording))
        self.env.note_dependency(report.__file__)
        about, rows = report.read_json(recording)
        # The doctree directory belongs to this build: a clean build starts without it.
        picture = Path(self.env.doctreedir) / "bench-plot" / f"{recording.stem}.png"
        picture.parent.mkdir(parents=True, exist_ok=True)
        report.draw_plot(picture, report.plot_title(about), rows)
        # Sphinx resolves an image's path from the page's directory and copies the file
        # into _images/ itself, as it does for any picture in the sources.
        page_directory = Path(self.env.doc2path(self.env.docname)).parent
        uri = os.path.relpath(picture, page_directory)
        return [nodes.image(uri=uri, alt=self.options.get("alt", DEFAULT_ALT))]


def setup(app) -> dict:
    app.add_directive("bench-plot", BenchPlot)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
