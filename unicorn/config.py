"""Loading settings: the layers that give each setting of unicorn.settings its value.

The layers are applied in order, later winning: defaults (with their
environment variables) < config file < UNICORN_CMD_ARGS < command line.

Explained in the chapter "Configuration".
gunicorn: gunicorn/app/base.py and the loading half of gunicorn/config.py.
Left out: paste files.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import importlib.util
import os
import shlex
import traceback
import types
from collections.abc import Mapping
from typing import Any

from unicorn import __version__
from unicorn.migration import left_out_option
from unicorn.settings import ENVIRONMENT_DEFAULTS, SETTINGS, SETTINGS_BY_NAME, Setting

DEFAULT_CONFIG_FILE = "unicorn.conf.py"  # read from the current directory when it exists


class ConfigError(Exception):
    """A setting could not be loaded; str() is one line naming the setting and the reason."""


class Config:
    """The settings of one server, readable as attributes: ``cfg.workers``."""

    def __init__(self, app_uri: str | None = None, **settings: Any) -> None:
        self.app_uri = app_uri  # the APP_MODULE argument; None is fine for --print-config
        self.update({setting.name: setting.default for setting in SETTINGS})
        self.update(settings)

    def update(self, values: Mapping[str, Any], source: str = "") -> None:
        """Validate and set some settings; source ("in config file x") goes into errors."""
        for name, raw in values.items():
            setting = SETTINGS_BY_NAME.get(name)
            if setting is None:
                raise ConfigError(unknown_setting_message(name, source))
            try:
                value = setting.validate(raw)
            except ValueError as error:
                where = f" ({source})" if source else ""
                raise ConfigError(f"Invalid value for {name}: {error}{where}") from None
            setattr(self, name, value)

    @classmethod
    def load(cls, argv: list[str], environ: Mapping[str, str]) -> Config:
        """Apply the layers in order, later winning: defaults (with their environment
        variables) < config file < UNICORN_CMD_ARGS < the command line."""
        parser = build_parser()
        command_line = parse_arguments(parser, list(argv), "")
        from_environment = parse_arguments(
            parser, split_command_args(environ.get("UNICORN_CMD_ARGS", "")), "in UNICORN_CMD_ARGS")
        app_uri_from_environment = from_environment.pop("app_uri", None)
        app_uri = command_line.pop("app_uri", app_uri_from_environment)
        # The config file is the one layer named by another: find it before applying any.
        config_file = command_line.get("config") or from_environment.get("config")
        if config_file is None and os.path.isfile(DEFAULT_CONFIG_FILE):
            config_file = DEFAULT_CONFIG_FILE

        cfg = cls(app_uri)
        for variable, name, to_raw in ENVIRONMENT_DEFAULTS:
            if variable in environ:
                source = f"from environment variable {variable}"
                cfg.update({name: to_raw(environ[variable])}, source)
        path = config_path(config_file) if config_file is not None else None
        if path is not None:
            cfg.update(read_config_file(path), f"in config file {config_file}")
        cfg.update(from_environment, "in UNICORN_CMD_ARGS")
        cfg.update(command_line)
        # config names the file actually read, absolute so it survives chdir.
        cfg.config = os.path.abspath(path) if path else None
        return cfg

    @property
    def worker_class_uri(self) -> str:
        """The worker to run: 'sync' with more than one thread means 'gthread', as in gunicorn."""
        if self.worker_class == "sync" and self.threads > 1:
            return "gthread"
        return self.worker_class

    @property
    def env(self) -> dict[str, str]:
        """raw_env as a dict: KEY=VALUE pairs split at the first '='."""
        return dict(entry.split("=", 1) for entry in self.raw_env)


def unknown_setting_message(name: str, source: str) -> str:
    """A near miss is a typo; anything else in a config file is a helper that needs a '_'."""
    message = f"Unknown setting {name!r}" + (f" {source}" if source else "")
    guesses = difflib.get_close_matches(name.lower(), SETTINGS_BY_NAME, n=1, cutoff=0.75)
    if guesses:
        return message + f"; did you mean {guesses[0]!r}?"
    if source:
        return message + ("; a name of your own is allowed if it starts with an underscore, "
                          f"such as '_{name}'")
    return message


# -- The command line: argparse built from the table.

class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises ConfigError instead of printing usage and exiting with 2,
    so that every configuration mistake is reported the same way, on one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(message)


def build_parser() -> ArgumentParser:
    """Every setting with flags becomes an option, grouped by section. Options left out
    are absent from the result (SUPPRESS), so a layer never overwrites a lower one."""
    parser = ArgumentParser(
        prog="unicorn", usage="%(prog)s [OPTIONS] [APP_MODULE]", allow_abbrev=False,
        argument_default=argparse.SUPPRESS,
        description="A readable pre-fork WSGI server, in the style of gunicorn.",
        epilog="Settings are read from ./unicorn.conf.py (or -c), then UNICORN_CMD_ARGS, then "
               "the command line, each overriding the one before. The PORT and WEB_CONCURRENCY "
               "environment variables change the defaults of --bind (0.0.0.0:$PORT) and "
               "--workers. Server hooks, logconfig_dict and secure_scheme_headers can only be set "
               "in a config file.")
    parser.add_argument("-v", "--version", action="version", version=f"unicorn {__version__}")
    parser.add_argument("app_uri", nargs="?", metavar="APP_MODULE",
                        help="the WSGI application as MODULE:VARIABLE or MODULE:FACTORY(ARGS)")
    groups = {}
    for setting in SETTINGS:
        if not setting.flags:
            continue
        if setting.section not in groups:
            groups[setting.section] = parser.add_argument_group(setting.section)
        options: dict[str, Any] = {"dest": setting.name, "action": setting.action,
                                   "help": flag_help(setting)}
        if setting.action in ("store", "append"):
            options["metavar"] = setting.metavar
        groups[setting.section].add_argument(*setting.flags, **options)
    return parser


def flag_help(setting: Setting) -> str:
    """The first sentence of the help and the default; argparse %-formats help, hence %%."""
    summary = setting.help.split(". ")[0].rstrip(".") + "."
    if setting.action in ("store", "append") and setting.default not in (None, []):
        summary += f" Default: {shown_value(setting.default)}."
    return summary.replace("%", "%%")


def shown_value(value: Any) -> str:
    """A default as the user would type it: each item of a list, not the list's brackets."""
    if isinstance(value, list):
        return ", ".join(map(repr, value))
    return repr(value)


def split_command_args(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError as error:
        raise ConfigError(f"Cannot split UNICORN_CMD_ARGS: {error}") from None


def parse_arguments(parser: ArgumentParser, args: list[str], source: str) -> dict[str, Any]:
    try:
        namespace, unknown = parser.parse_known_args(args)
        if unknown:
            raise ConfigError(unknown_argument_message(unknown[0]))
    except ConfigError as error:
        raise ConfigError(f"{error} ({source})" if source else str(error)) from None
    return vars(namespace)


def unknown_argument_message(argument: str) -> str:
    if not argument.startswith("-"):
        return f"Unexpected argument {argument!r}: only one APP_MODULE may be given"
    flag = argument.split("=", 1)[0]
    left_out = left_out_option(flag)
    if left_out:
        return left_out
    flags = [known for setting in SETTINGS for known in setting.flags]
    guesses = difflib.get_close_matches(flag, flags, n=1, cutoff=0.75)
    return f"Unknown option {flag!r}" + (f"; did you mean {guesses[0]!r}?" if guesses else "")


# -- The config file: plain Python whose top-level names are settings.

def config_path(location: str) -> str:
    """The file that -c names, in gunicorn's three spellings: PATH, file:PATH, python:MODULE.

    A module is looked up on the import path, and its file then read like any config
    file rather than imported: an import would be cached in sys.modules, and a reload
    (HUP) would find the old settings there instead of reading the file again.
    """
    if not location.startswith("python:"):
        return location.removeprefix("file:")
    name = location.removeprefix("python:")
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package missing, or an empty name
        spec = None
    if spec is None or not spec.has_location or not str(spec.origin).endswith(".py"):
        raise ConfigError(f"Invalid value for config: there is no module {name!r} with a .py "
                          "file on the import path")
    return spec.origin


def read_config_file(path: str) -> dict[str, Any]:
    """Execute the file and return the settings it defines.

    Ignored: names starting with '_', modules, and names bound by import statements, so
    ``import multiprocessing`` or ``from os import environ`` is fine. Any other name must
    be a setting; rejecting it catches typos like ``wrokers = 4`` that would pass silently.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"Invalid value for config: there is no file {path!r}")
    namespace: dict[str, Any] = {"__file__": os.path.abspath(path), "__name__": "__config__"}
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), path)
        exec(compile(tree, path, "exec"), namespace)
    except Exception as error:
        raise ConfigError(f"Failed to read config file {path}: {describe(error, path)}") from error
    imported = imported_names(tree)
    return {name: value for name, value in namespace.items()
            if name in SETTINGS_BY_NAME or not is_ignored(name, value, imported)}


def is_ignored(name: str, value: Any, imported: set[str]) -> bool:
    private = name.startswith("_")  # also covers __builtins__, __file__ and friends
    return private or name in imported or isinstance(value, types.ModuleType)


def imported_names(tree: ast.AST) -> set[str]:
    """The names that import statements bind: 'import os.path' binds 'os'."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def describe(error: Exception, path: str) -> str:
    """One line for an exception raised while reading the config file, with its line."""
    line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == path:
            line = frame.lineno
    message = getattr(error, "msg", None) if isinstance(error, SyntaxError) else str(error)
    where = f" (line {line})" if line else ""
    return " ".join(f"{type(error).__name__}: {message}{where}".split())


def format_config(cfg: Config) -> str:
    """``name = value`` per setting in table order; hooks by their function's name.

    The output is a config file: lists stay lists, valid Python that -c reads back.
    """
    lines = []
    for setting in SETTINGS:
        value = getattr(cfg, setting.name)
        shown = value.__qualname__ if callable(value) else repr(value)
        lines.append(f"{setting.name} = {shown}")
    return "\n".join(lines)
