"""The LAB_IMPL switch: which implementation a lab's tests run against.

    LAB_IMPL=starter      the student's code in labs/NN-topic/starter/ (the default)
    LAB_IMPL=reference    unicorn itself, through the adapters in unicorn/labs/reference/labNN/
    LAB_IMPL=broken:NAME  a classic mistake, unicorn/labs/broken/labNN/NAME.py

Tests never import an implementation themselves: they ask the `impl` fixture (labs/conftest.py)
for a module, a command or a WSGI app, so the same test runs against all three, and a starter
that is not written yet fails its tests instead of breaking their collection.
A broken variant stands in for one module of the lab, named by its REPLACES constant; the lab's
other modules come from the reference.
"""

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from unicorn.labs.catalog import ROOT, Lab

VARIABLE = "LAB_IMPL"
STARTER = "starter"
REFERENCE = "reference"
BROKEN = "broken:"


def chosen() -> str:
    """The value of LAB_IMPL, or "starter" when it is not set."""
    return os.environ.get(VARIABLE, "").strip() or STARTER


class Implementation:
    """One lab's code as LAB_IMPL selects it: load its modules, run them, serve its apps."""

    def __init__(self, lab: Lab, choice: str | None = None) -> None:
        self.lab = lab
        self.choice = choice or chosen()
        if self.choice not in (STARTER, REFERENCE) and not self.choice.startswith(BROKEN):
            raise ValueError(f"{VARIABLE}={self.choice!r}: use starter, reference or broken:NAME")
        if self.choice.startswith(BROKEN):
            variant = self.choice.removeprefix(BROKEN)
            if variant not in lab.broken_variants():
                known = ", ".join(lab.broken_variants()) or "none"
                raise LookupError(f"lab {lab.number} has no broken variant {variant!r} ({known})")

    def __repr__(self) -> str:
        return f"<Implementation lab {self.lab.number} {self.choice}>"

    @property
    def starter_dir(self) -> Path:
        return self.lab.directory / "starter"

    def dotted_name(self, module: str) -> str | None:
        """The import name of `module` for reference and broken code; None for the starter."""
        if self.choice == STARTER:
            return None
        reference = f"unicorn.labs.reference.lab{self.lab.number:02d}.{module}"
        if self.choice == REFERENCE:
            return reference
        variant = f"unicorn.labs.broken.lab{self.lab.number:02d}.{self.choice.removeprefix(BROKEN)}"
        replaces = getattr(importlib.import_module(variant), "REPLACES", None)
        return variant if replaces == module else reference

    def load(self, module: str) -> ModuleType:
        """Import `module` (e.g. "parser") from the chosen implementation."""
        dotted = self.dotted_name(module)
        if dotted is not None:
            return importlib.import_module(dotted)
        # Loaded by path under a name of its own, so two labs' server.py never collide.
        path = self.starter_dir / f"{module}.py"
        name = f"lab{self.lab.number:02d}_starter_{module}"
        spec = importlib.util.spec_from_file_location(name, path)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded  # dataclasses look their module up while the file runs
        spec.loader.exec_module(loaded)
        return loaded

    def command(self, module: str) -> list[str]:
        """The argv that runs `module` as a program (its `if __name__ == "__main__"` part)."""
        dotted = self.dotted_name(module)
        if dotted is None:
            return [sys.executable, str(self.starter_dir / f"{module}.py")]
        return [sys.executable, "-m", dotted]

    def wsgi_target(self, module: str, name: str) -> tuple[str, Path]:
        """An APP_MODULE for `python -m unicorn`, and the directory it must be imported from."""
        dotted = self.dotted_name(module)
        if dotted is None:
            return f"{module}:{name}", self.starter_dir
        return f"{dotted}:{name}", ROOT

    def environment(self, *path: Path) -> dict[str, str]:
        """os.environ for a child process: unicorn (and `path`) importable, output unbuffered."""
        pythonpath = os.pathsep.join(str(entry) for entry in (*path, ROOT))
        return dict(os.environ, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1",
                    **{VARIABLE: self.choice})
