"""The proof that every lab tests what it claims, run by tests/test_labs.py and `nox -s labs`.

For each lab, three kinds of run of its own tests (`python -m pytest labs/NN-topic/tests`):
  - LAB_IMPL=reference passes every test: the lab asks for nothing unicorn does not do;
  - LAB_IMPL=starter, untouched, is collected cleanly and fails every test: no test passes
    against an empty stub, so each one checks something;
  - LAB_IMPL=broken:NAME fails, and among its failures are the tests its CAUGHT_BY names:
    the tests catch the classic mistake for the right reason.
Each function returns the problems it found, one line each; an empty list means proven.
`python -m unicorn.labs.proof` runs the whole proof and prints it.
"""

import importlib

from unicorn.labs.catalog import Lab, all_labs
from unicorn.labs.impl import BROKEN, REFERENCE, STARTER
from unicorn.labs.runner import TESTS_FAILED, Run, run_lab


def prove_reference(lab: Lab) -> list[str]:
    """Every test passes against unicorn, and every part has tests."""
    run = run_lab(lab, REFERENCE)
    problems = _ran_tests(run, "reference")
    problems += [f"reference fails {outcome.name}: {outcome.message}" for outcome in run.failed]
    problems += _parts_are_tested(lab, run)
    return problems or _ok(run, run.exit_code == 0, "reference")


def prove_starter(lab: Lab) -> list[str]:
    """The untouched starter is collected and fails every single test."""
    run = run_lab(lab, STARTER)
    problems = _ran_tests(run, "starter")
    problems += [f"the untouched starter passes {outcome.name}: that test checks nothing"
                 for outcome in run.outcomes if outcome.passed]
    return problems or _ok(run, run.exit_code == TESTS_FAILED, "starter")


def prove_broken(lab: Lab, variant: str) -> list[str]:
    """The tests catch broken variant `variant`, with the tests it names in CAUGHT_BY."""
    run = run_lab(lab, BROKEN + variant)
    problems = _ran_tests(run, f"broken:{variant}")
    if not problems and not run.failed:
        problems.append(f"broken:{variant} passes every test: the mistake goes uncaught")
    failed = {outcome.name.partition("[")[0] for outcome in run.failed}
    for name in caught_by(lab, variant):
        if name not in failed:
            problems.append(f"broken:{variant} should fail {name}, which passed or did not run")
    return problems


def caught_by(lab: Lab, variant: str) -> tuple[str, ...]:
    """The tests a broken variant declares it must fail (its module's CAUGHT_BY)."""
    module = importlib.import_module(f"unicorn.labs.broken.lab{lab.number:02d}.{variant}")
    return tuple(getattr(module, "CAUGHT_BY", ()))


def _ran_tests(run: Run, what: str) -> list[str]:
    """A run that never got to its tests proves nothing either way."""
    if run.exit_code is None:
        return [f"{what}: the tests did not finish in time\n{_tail(run.output)}"]
    if run.collection_failed or not run.outcomes:
        return [f"{what}: the tests could not be collected (exit {run.exit_code})\n"
                f"{_tail(run.output)}"]
    return []


def _parts_are_tested(lab: Lab, run: Run) -> list[str]:
    """Every test names a part of its lab (test_03b_...), and every part has a test."""
    letters = {part.letter for part in lab.parts}
    problems = [f"{outcome.name} does not name a part of lab {lab.number} (test_{lab.number:02d}"
                f"{'/'.join(sorted(letters))}_...)"
                for outcome in run.outcomes if outcome.part not in letters]
    tested = {outcome.part for outcome in run.outcomes}
    problems += [f"part {letter} of lab {lab.number} has no tests"
                 for letter in sorted(letters - tested)]
    return problems


def _ok(run: Run, expected_exit: bool, what: str) -> list[str]:
    if expected_exit:
        return []
    return [f"{what}: unexpected pytest exit status {run.exit_code}\n{_tail(run.output)}"]


def _tail(output: str, lines: int = 15) -> str:
    return "\n".join(output.splitlines()[-lines:])


def main() -> int:
    """Prove every lab; print one line per run and the problems under it."""
    all_problems = 0
    for lab in all_labs():
        checks = [("reference", prove_reference, ()), ("starter", prove_starter, ())]
        checks += [(f"broken:{variant}", prove_broken, (variant,))
                   for variant in lab.broken_variants()]
        for what, prove, arguments in checks:
            problems = prove(lab, *arguments)
            all_problems += len(problems)
            print(f"lab {lab.number:02d} {what:<32} {'ok' if not problems else 'NOT PROVEN'}")
            for problem in problems:
                print("    " + problem.replace("\n", "\n    "))
    return 1 if all_problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
