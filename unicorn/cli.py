"""The ``unicorn`` command: load the settings, prepare the import path, start the arbiter.

Every mistake found before the arbiter starts ends the process with status 1
and a single ``Error: ...`` line on standard error.

Explained in the chapter "Configuration".
gunicorn: gunicorn/app/base.py and gunicorn/app/wsgiapp.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from unicorn import tls
from unicorn.app import (
    AppImportError,
    app_traceback,
    load_app,
    prepare_import_path,
    put_first_on_path,
)
from unicorn.config import Config, ConfigError, build_parser, format_config
from unicorn.migration import gunicorn_leftovers


def main(argv: Sequence[str] | None = None) -> int:
    """Run unicorn with argv (default: sys.argv[1:]) and return the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    launch_dir = os.getcwd()  # relative paths in args mean this directory, also on HUP
    put_first_on_path(launch_dir)  # so a config file can import modules from here
    try:
        cfg = Config.load(args, os.environ)
    except ConfigError as error:
        return fail(str(error))
    for warning in gunicorn_leftovers(os.environ, config_read=cfg.config is not None):
        print(f"Warning: {warning}", file=sys.stderr)
    if cfg.print_config:
        print(format_config(cfg))
        return 0
    if cfg.app_uri is None:
        usage = build_parser().format_usage().strip()
        return fail(f"No application module specified ({usage})")
    try:
        tls.check(cfg)  # here, so that a wrong certificate or key stops us before any fork
    except tls.TLSError as error:
        return fail(str(error))
    prepare_import_path(cfg.chdir, cfg.pythonpath)
    if cfg.check_config:
        return check_app(cfg.app_uri)
    from unicorn.arbiter import Arbiter  # imported late: nothing above needs it

    try:
        arbiter = Arbiter(cfg, args, launch_dir)
    except (OSError, ValueError) as error:  # a log file that cannot be opened, a bad logconfig_dict
        return fail(f"Cannot set up logging: {error}")
    return arbiter.run()


def check_app(app_uri: str) -> int:
    """--check-config: the configuration already loaded; does the application?"""
    try:
        load_app(app_uri)
    except AppImportError as error:
        if app_traceback(error):
            print(app_traceback(error), file=sys.stderr)
        return fail(str(error))
    return 0


def fail(message: str) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return 1
