"""The results of compare.py: one table, the targets, a JSON file and a PNG plot.

Every row compares unicorn with an anchor (gunicorn 27.0.1, or h11 for one
parser row) measured in the same run. The ratio is always written so that
above 1 means unicorn is better: more requests per second, or less time or
memory. read_json reads a run's JSON back, so the run that bench/README.md
reports (bench/recorded.json) redraws its table and plot, in the book too,
without measuring again.
"""

import json
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class Measurement:
    """One row of the table: samples for unicorn and its anchor, round by round."""

    key: str
    title: str
    unit: str
    higher_is_better: bool
    unicorn: list[float] = field(default_factory=list)
    anchor: list[float] = field(default_factory=list)
    anchor_name: str = "gunicorn"
    errors: dict[str, int] = field(default_factory=dict)  # wrk's errors, per server

    def ratio(self) -> float:
        """unicorn's advantage, median against median; above 1 means unicorn is better."""
        return advantage(statistics.median(self.unicorn), statistics.median(self.anchor),
                         self.higher_is_better)

    def round_ratios(self) -> list[float]:
        """The same, round by round: the rounds were interleaved, so they pair up."""
        return [advantage(mine, theirs, self.higher_is_better)
                for mine, theirs in zip(self.unicorn, self.anchor, strict=True)]


def advantage(unicorn: float, anchor: float, higher_is_better: bool) -> float:
    if higher_is_better:
        return unicorn / anchor if anchor else float("inf")
    return anchor / unicorn if unicorn else float("inf")


@dataclass
class Target:
    """One target of issue 11: a check over the measurements, and what it found."""

    description: str
    check: Callable[[dict[str, Measurement]], tuple[bool, str]]


def at_least(key: str, ratio: float) -> Callable[[dict[str, Measurement]], tuple[bool, str]]:
    """unicorn's advantage in row ``key`` is at least ``ratio``."""
    def check(rows: dict[str, Measurement]) -> tuple[bool, str]:
        found = rows[key].ratio()
        return found >= ratio, f"{found:.2f}x"
    return check


def near(key: str, reference: str, share: float) -> Callable[[dict[str, Measurement]],
                                                             tuple[bool, str]]:
    """unicorn in row ``key`` reaches ``share`` of unicorn in row ``reference``."""
    def check(rows: dict[str, Measurement]) -> tuple[bool, str]:
        found = statistics.median(rows[key].unicorn) / statistics.median(rows[reference].unicorn)
        return found >= share, f"{found:.0%} of it"
    return check


NO_WORSE = 0.95

TARGETS = [
    Target("sync, close, 16 conns: >= 1.5x gunicorn", at_least("sync-close", 1.5)),
    Target("gthread keep-alive, 16 conns: >= 2x gunicorn", at_least("gthread-keepalive-16", 2)),
    Target("gthread keep-alive, 64 conns: >= 2x gunicorn", at_least("gthread-keepalive-64", 2)),
    Target("gthread close, 16 conns: >= 1.5x gunicorn", at_least("gthread-close", 1.5)),
    Target("gthread close: within 20% of unicorn's sync",
           near("gthread-close", "sync-close", 0.8)),
    Target("gthread via nginx: >= 1.5x gunicorn", at_least("gthread-close-nginx", 1.5)),
    Target("gthread via nginx: within 20% of unicorn's sync via nginx",
           near("gthread-close-nginx", "sync-close-nginx", 0.8)),
    Target("parser: >= 4x gunicorn's", at_least("parser", 4)),
    Target("parser: faster than h11", at_least("parser-h11", 1)),
    # "No worse": within the 5% that two rounds of the same server differ by here.
    *(Target(f"{key}: no worse than gunicorn (>= 0.95x)", at_least(key, NO_WORSE))
      for key in ("startup", "rss-sync", "rss-gthread", "post-1mib", "stream-10mib",
                  "file-10mib")),
]


def table(rows: dict[str, Measurement]) -> str:
    """The medians, the ratio and the spread of the round-by-round ratios, as Markdown."""
    lines = ["| scenario | unit | unicorn | anchor | unicorn vs anchor | rounds' ratios |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for row in rows.values():
        ratios = row.round_ratios()
        errors = "".join(f"; {name} {count} errors" for name, count in row.errors.items()
                         if count)
        lines.append(
            f"| {row.title} | {row.unit} | {number(statistics.median(row.unicorn))} "
            f"| {number(statistics.median(row.anchor))} ({row.anchor_name}) "
            f"| **{row.ratio():.2f}x** | {min(ratios):.2f}-{max(ratios):.2f}{errors} |")
    return "\n".join(lines)


def number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def check_targets(rows: dict[str, Measurement]) -> list[dict]:
    """Each target with whether it held and the figure that decided it."""
    verdicts = []
    for target in TARGETS:
        try:
            held, detail = target.check(rows)
        except KeyError:  # a row that was skipped (nginx or h11 missing)
            held, detail = False, "not measured"
        verdicts.append({"target": target.description, "held": held, "found": detail})
    return verdicts


def targets_text(verdicts: list[dict]) -> str:
    return "\n".join(f"- {'held' if verdict['held'] else 'MISSED'}: {verdict['target']} "
                     f"({verdict['found']})" for verdict in verdicts)


def write_json(path: Path, about: dict, rows: dict[str, Measurement],
               verdicts: list[dict]) -> None:
    figures = [dict(asdict(row), ratio=row.ratio(), round_ratios=row.round_ratios())
               for row in rows.values()]
    path.write_text(json.dumps({**about, "measurements": figures, "targets": verdicts},
                               indent=2) + "\n")


def read_json(path: Path) -> tuple[dict, dict[str, Measurement]]:
    """A file that write_json wrote, read back: what the run was about, and its rows.

    The rows come back in the order they were measured, so table() and draw_plot()
    redraw a recorded run (bench/recorded.json) exactly, without running anything.
    The ratios and the targets in the file are not read: they are recomputed from the
    samples, so they cannot disagree with them.
    """
    recorded = json.loads(path.read_text())
    names = {item.name for item in fields(Measurement)}
    rows = {}
    for figures in recorded.pop("measurements"):
        row = Measurement(**{name: value for name, value in figures.items() if name in names})
        rows[row.key] = row
    recorded.pop("targets", None)
    return recorded, rows


def plot_title(about: dict) -> str:
    """The plot's title: what was compared, and when."""
    return f"unicorn vs gunicorn {about['gunicorn']}, {about['date']}"


def draw_plot(path: Path, title: str, rows: dict[str, Measurement]) -> None:
    """One bar per row: the median ratio, with a line from the worst round's to the best's."""
    import matplotlib
    matplotlib.use("Agg")  # draw to a file; no display needed
    import matplotlib.pyplot as plt

    names = [f"{row.title} (vs {row.anchor_name})" for row in rows.values()]
    ratios = [row.ratio() for row in rows.values()]
    lows = [ratio - min(row.round_ratios())
            for ratio, row in zip(ratios, rows.values(), strict=True)]
    highs = [max(row.round_ratios()) - ratio
             for ratio, row in zip(ratios, rows.values(), strict=True)]
    figure, axes = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5))
    positions = range(len(names))
    axes.barh(positions, ratios, xerr=[lows, highs], color="#4c72b0", capsize=3)
    axes.axvline(1.0, color="black", linewidth=1)  # left of it, unicorn is worse
    axes.set_yticks(list(positions), names)
    axes.invert_yaxis()  # the first row at the top, as in the table
    axes.set_xlabel("unicorn's advantage, median of rounds (above 1: unicorn is better)")
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
