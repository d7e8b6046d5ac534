"""`python -m unicorn.labs`: list the labs, check your work on one, read its hints.

    python -m unicorn.labs list
    python -m unicorn.labs check 3 [--part b] [--repeat 20]
    python -m unicorn.labs hint 3 [--part b]

`check` runs the lab's tests in a subprocess against your starter (or whatever LAB_IMPL says),
then prints one line per part and, for each failure, its one-line reason and where to read.
"""

import argparse
import re
from collections import defaultdict

from unicorn.labs.catalog import Lab, all_labs, find_lab
from unicorn.labs.impl import Implementation, chosen
from unicorn.labs.runner import Outcome, pytest_command, run_lab

# Hints are the README's <details> blocks whose summary names a part: "Hint for part b: ...".
HINT_RE = re.compile(r"<details>\s*<summary>(.*?)</summary>(.*?)</details>", re.DOTALL)
HINT_PART_RE = re.compile(r"\bpart ([a-z])\b", re.IGNORECASE)

# At most this many distinct reasons per failing part: the first ones are the ones to fix.
MAX_REASONS = 5


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.command(args)
    except (LookupError, ValueError) as error:  # no such lab, part, variant or LAB_IMPL
        print(f"error: {error.args[0]}")
        return 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m unicorn.labs", description=__doc__.split("\n")[0])
    commands = top.add_subparsers(required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="list every lab with its chapter")
    listing.set_defaults(command=list_labs)
    check = commands.add_parser("check", help="run a lab's tests and summarise them by part")
    check.add_argument("lab", help="the lab's number, which is its chapter's number")
    check.add_argument("--part", help="check one part only, e.g. --part b")
    check.add_argument("--repeat", type=int, default=1, metavar="N",
                       help="run the tests N times: races in process labs hide")
    check.set_defaults(command=check_lab)
    hint = commands.add_parser("hint", help="print a lab's hints")
    hint.add_argument("lab")
    hint.add_argument("--part", help="only the hints for this part")
    hint.set_defaults(command=print_hints)
    return top


def list_labs(args: argparse.Namespace) -> int:
    for lab in all_labs():
        parts = ", ".join(f"{part.letter}) {part.title}" for part in lab.parts)
        print(f"{lab.number:2d}  {lab.title}  [chapter {lab.number} \"{lab.chapter}\", "
              f"{lab.directory.name}/]")
        print(f"    {parts}")
    return 0


def check_lab(args: argparse.Namespace) -> int:
    lab = find_lab(args.lab)
    if args.part:
        lab.part(args.part)  # an unknown part is an error before anything runs
    choice = chosen()
    Implementation(lab, choice)  # a LAB_IMPL that cannot work is an error before anything runs
    print(f"Lab {lab.number}: {lab.title}  (LAB_IMPL={choice})")
    print("  $ python " + " ".join(pytest_command(lab, args.part)[1:]))
    failures: dict[str, list[Outcome]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for attempt in range(1, max(args.repeat, 1) + 1):
        run = run_lab(lab, choice, args.part)
        if run.collection_failed or run.exit_code is None or not run.outcomes:
            print(run.output.rstrip())
            print(f"The tests did not run to the end (run {attempt}); see the output above.")
            return 1
        for outcome in run.outcomes:
            counts[outcome.part] += 1
            if not outcome.passed:
                failures[outcome.part].append(outcome)
    print_summary(lab, args, counts, failures)
    return 1 if failures else 0


def print_summary(lab: Lab, args: argparse.Namespace, counts: dict, failures: dict) -> None:
    runs = f" over {args.repeat} runs" if args.repeat > 1 else ""
    for part in lab.parts:
        if part.letter not in counts:
            continue
        failed = failures.get(part.letter, [])
        verdict = "passed" if not failed else f"FAILED ({len(failed)} of {counts[part.letter]})"
        print(f"  part {part.letter}  {part.title:<50} {verdict}{runs}")
        for message, names in by_message(failed)[:MAX_REASONS]:
            others = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            print(f"      {names[0]}{others}: {message}")
        if failed:
            print(f"      read: {lab.book_file}, section \"{part.section}\"; "
                  f"hints: python -m unicorn.labs hint {lab.number} --part {part.letter}")


def by_message(outcomes: list[Outcome]) -> list[tuple[str, list[str]]]:
    """Failures grouped by reason, each test named once even when --repeat saw it fail often."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.name not in grouped[outcome.message]:
            grouped[outcome.message].append(outcome.name)
    return list(grouped.items())


def print_hints(args: argparse.Namespace) -> int:
    lab = find_lab(args.lab)
    readme = (lab.directory / "README.md").read_text()
    shown = 0
    for summary, text in HINT_RE.findall(readme):
        match = HINT_PART_RE.search(summary)
        if args.part and (match is None or match.group(1).lower() != args.part):
            continue
        print(f"== {summary.strip()}\n{text.strip()}\n")
        shown += 1
    if not shown:
        print(f"No hints for lab {lab.number}" + (f" part {args.part}." if args.part else "."))
    return 0
