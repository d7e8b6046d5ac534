"""bench/README.md's table, bench/recorded.json and the book's plot report one and the same run.

`compare.py --record` writes the JSON and prints the table; someone pastes the table into the
README by hand. The book includes that table and draws its plot from the JSON, so a table
pasted from another run, or edited, would sit beside a plot that contradicts it.
"""

from pathlib import Path

from bench import report

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "bench" / "recorded.json"
README = ROOT / "bench" / "README.md"
# The part of the README that chapter 15 includes, between these two markers.
START, END = "## Results on this machine", "Targets of issue 11:"


def readme_table(text: str) -> str:
    """The Markdown table between the two markers: every line that starts with '|'."""
    section = text[text.index(START):text.index(END)]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_the_readme_shows_the_recorded_run() -> None:
    _, rows = report.read_json(RECORDED)
    assert readme_table(README.read_text()) == report.table(rows), (
        "bench/README.md's table is not bench/recorded.json's: paste the table that "
        "`python bench/compare.py --record` printed")


def test_a_changed_number_is_caught() -> None:
    """The comparison above must be able to fail: one figure changed, and it does."""
    _, rows = report.read_json(RECORDED)
    first = next(iter(rows.values()))
    first.unicorn[0] *= 2
    assert readme_table(README.read_text()) != report.table(rows)


def test_a_recording_reads_back_as_it_was_written(tmp_path: Path) -> None:
    about, rows = report.read_json(RECORDED)
    copy = tmp_path / "copy.json"
    report.write_json(copy, about, rows, report.check_targets(rows))
    about_again, rows_again = report.read_json(copy)
    assert about_again == about
    assert rows_again == rows
    assert list(rows_again) == list(rows)  # the table's order is the order of measurement


def test_the_plot_draws_from_the_recording(tmp_path: Path) -> None:
    about, rows = report.read_json(RECORDED)
    picture = tmp_path / "plot.png"
    report.draw_plot(picture, report.plot_title(about), rows)
    assert picture.read_bytes().startswith(b"\x89PNG")
