"""The ``unicorn`` command: load the settings, prepare the import path, start the arbiter.

Chapter "Configuration" ends with this module. It corresponds to gunicorn/app/base.py
and gunicorn/app/wsgiapp.py. Every mistake found before the arbiter starts ends the
process with status 1 and a single ``Error: ...`` line on standard error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from unicorn.app import AppImportError, load_app
from unicorn.config import Config, ConfigError, build_parser, format_config


def main(argv: Sequence[str] | None = None) -> int:
    """Run unicorn with argv (default: sys.argv[1:]) and return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    put_first_on_path(os.getcwd())  # so a config file can import modules beside it
    try:
        cfg = Config.load(args, os.environ)
    except ConfigError as error:
        return fail(str(error))
    if cfg.print_config:
        print(format_config(cfg))
        return 0
    if cfg.app_uri is None:
        usage = build_parser().format_usage().strip()
        return fail(f"No application module specified ({usage})")
    prepare_import_path(cfg)
    if cfg.check_config:
        return check_app(cfg.app_uri)
    from unicorn.arbiter import Arbiter  # imported late: nothing above needs it
    return Arbiter(cfg).run()


def prepare_import_path(cfg: Config) -> None:
    """chdir first, then put the new working directory on sys.path, then pythonpath
    entries in front of it, as gunicorn does: APP_MODULE is found relative to chdir."""
    os.chdir(cfg.chdir)
    put_first_on_path(cfg.chdir)
    for entry in reversed((cfg.pythonpath or "").split(",")):
        if entry.strip():
            put_first_on_path(os.path.abspath(entry.strip()))


def put_first_on_path(directory: str) -> None:
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)


def check_app(app_uri: str) -> int:
    """--check-config: the configuration already loaded; does the application?"""
    try:
        load_app(app_uri)
    except AppImportError as error:
        return fail(str(error))
    return 0


def fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return 1
