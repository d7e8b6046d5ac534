"""The labs are proven both ways: unicorn passes every lab, untouched starters fail them,
and every broken variant is caught (unicorn/labs/proof.py says exactly what each run checks).

Each case runs one lab's tests in a subprocess, so these tests also run with the main suite.
"""

import pytest

from unicorn.labs import proof
from unicorn.labs.catalog import all_labs

LABS = all_labs()
VARIANTS = [(lab, variant) for lab in LABS for variant in lab.broken_variants()]


def lab_id(lab) -> str:
    return lab.name


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_reference_passes_every_test(lab):
    problems = proof.prove_reference(lab)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lab", LABS, ids=lab_id)
def test_untouched_starter_fails_every_test(lab):
    problems = proof.prove_starter(lab)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lab, variant", VARIANTS,
                         ids=[f"{lab.name}-{variant}" for lab, variant in VARIANTS])
def test_broken_variant_is_caught(lab, variant):
    problems = proof.prove_broken(lab, variant)
    assert not problems, "\n".join(problems)


def test_labs_exist():
    assert LABS, "no labs found under labs/"
