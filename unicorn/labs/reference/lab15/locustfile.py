"""Lab 15a's reference: the book's own locustfile.py, at the top of the repository.

locust runs this file in its own process and collects every User class it finds in it, so
handing over the book's Shopper is the whole adapter. The book's file is loaded under a name
of its own: locust has already taken the name `locustfile` for this module.
"""

import importlib.util
from types import ModuleType

from unicorn.labs.catalog import ROOT


def book_locustfile() -> ModuleType:
    """The repository's locustfile.py. If it moves, lab 15a breaks on this line."""
    spec = importlib.util.spec_from_file_location("book_locustfile", ROOT / "locustfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Shopper = book_locustfile().Shopper
