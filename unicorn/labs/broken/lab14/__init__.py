"""Lab 14's broken servers: unicorn with one classic mistake of a USR2 upgrade put back in.

Each variant runs `python -m unicorn -c _mistakes.py ...` with LAB14_MISTAKE naming the mistake;
the config file's hooks make it, in the old master and again in the new one, which unicorn
starts with the same command line and environment.
"""

import os
import sys
from pathlib import Path

# The unicorn config file whose hooks put the mistake in.
MISTAKES = Path(__file__).with_name("_mistakes.py")


def run_with_mistake(mistake: str, argv: list[str]) -> None:
    """exec unicorn as lab 14's server, with `mistake` made by the config file's hooks."""
    os.environ["LAB14_MISTAKE"] = mistake
    command = [sys.executable, "-m", "unicorn", "-c", str(MISTAKES), *argv]
    os.execv(command[0], command)
