"""Lab 10: a settings loader with unicorn's four layers, for six settings.

defaults < config file < the LAB_CMD_ARGS environment variable < the command line:
a later layer overrides an earlier one, setting by setting.
Keep the interface (names, arguments, return values), the table and main(), which are written;
write the bodies that raise NotImplementedError.
Read labs/10-configuration/README.md first. Run: python -m unicorn.labs check 10 --part a
Try it: LAB_CMD_ARGS="-w 3" python labs/10-configuration/starter/config.py --print-config -t 5
"""

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENVIRONMENT_VARIABLE = "LAB_CMD_ARGS"  # unicorn's is UNICORN_CMD_ARGS
DEFAULT_CONFIG_FILE = "lab.conf.py"  # read from `cwd` when no -c names a file
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(Exception):
    """A setting could not be loaded. str() is one line: which setting or name, where, why."""


@dataclass(frozen=True)
class Setting:
    """One setting, described once: the command line and the config file both read it."""

    name: str
    flags: tuple[str, ...]  # the command-line spellings
    validate: Callable[[Any], Any]  # raw value -> typed value, or ValueError saying why
    default: Any  # a raw value: it goes through validate like any other
    repeat: bool = False  # the flag may be given several times, and its values make a list


# --- Part a: validators and the table ----------------------------------------------------------
# A raw value is a str (command line, LAB_CMD_ARGS) or any Python value (config file).


def at_least(minimum: int) -> Callable[[Any], int]:
    """A validator for an integer >= minimum: accepts 4 and "4", refuses True, 2.5, "four"."""
    def validate(value: Any) -> int:
        raise NotImplementedError("Lab 10a: an int (or a str of digits) that is >= minimum")
    return validate


def log_level(value: Any) -> str:
    """One of LOG_LEVELS, in any case ("DEBUG" is "debug")."""
    raise NotImplementedError("Lab 10a: a str whose lower case is in LOG_LEVELS")


def bind_list(value: Any) -> list[str]:
    """A list of addresses HOST, HOST:PORT or unix:PATH; one str is a list of one.
    A port must be a number from 0 to 65535."""
    raise NotImplementedError("Lab 10a: a str or a non-empty list of str, each address checked")


def optional_text(value: Any) -> str | None:
    """None, or a str."""
    raise NotImplementedError("Lab 10a: None or a str, nothing else")


SETTINGS: tuple[Setting, ...] = (
    Setting("config", ("-c", "--config"), optional_text, None),
    Setting("bind", ("-b", "--bind"), bind_list, ["127.0.0.1:8000"], repeat=True),
    Setting("workers", ("-w", "--workers"), at_least(1), 1),
    Setting("timeout", ("-t", "--timeout"), at_least(0), 30),
    Setting("accesslog", ("--access-logfile",), optional_text, None),
    Setting("loglevel", ("--log-level",), log_level, "info"),
)
SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def update(settings: dict[str, Any], values: Mapping[str, Any], source: str) -> None:
    """Validate each of `values` and store it in `settings`, by name.

    `source` says where the values came from ("in config file lab.conf.py", "in LAB_CMD_ARGS",
    "" for the command line). An unknown name or a bad value raises ConfigError with one line
    that names the setting, the source (when there is one) and the validator's reason.
    """
    raise NotImplementedError("Lab 10a: look each name up, validate, store; ConfigError if not")


def defaults() -> dict[str, Any]:
    """Every setting at its default, validated like any other value."""
    settings: dict[str, Any] = {}
    update(settings, {setting.name: setting.default for setting in SETTINGS}, "in the defaults")
    return settings


# --- Part b: the config file -------------------------------------------------------------------


def read_config_file(path: str) -> dict[str, Any]:
    """Run the Python file at `path` and return the settings it sets, as raw values.

    Ignored: names that start with "_", modules, and names bound by import statements.
    Any other name must be a setting: ConfigError naming the file and the name otherwise.
    A file that is missing, or raises, or is not Python: ConfigError naming the file.
    """
    raise NotImplementedError("Lab 10b: exec the file in a fresh dict, keep the setting names")


# --- Part c: the four layers -------------------------------------------------------------------


def parse_arguments(args: list[str], source: str) -> dict[str, Any]:
    """The settings that `args` sets, by name, as raw values; the flags not given are absent.
    An unknown option or a missing value raises ConfigError (naming `source` if there is one)."""
    raise NotImplementedError("Lab 10c: argparse built from SETTINGS, with nothing by default")


def load(argv: list[str], environ: Mapping[str, str], cwd: str) -> dict[str, Any]:
    """Every setting's value: defaults < config file < environ[ENVIRONMENT_VARIABLE] < argv.

    The config file is the one named by -c (argv first, then LAB_CMD_ARGS), else
    DEFAULT_CONFIG_FILE if `cwd` has one; relative paths are relative to `cwd`.
    The result's "config" is the absolute path of the file read, or None.
    """
    raise NotImplementedError("Lab 10c: parse argv and LAB_CMD_ARGS, find the file, apply in order")


def format_config(settings: Mapping[str, Any]) -> str:
    """One "name = repr(value)" line per setting, in the order of SETTINGS."""
    raise NotImplementedError("Lab 10c: one line per setting, in table order")


def main(argv: list[str]) -> int:
    """config.py [--print-config] [OPTIONS]: print the settings, or one Error: line and exit 1.

    This lab's program does nothing but print its configuration, so --print-config is optional.
    """
    argv = [argument for argument in argv if argument != "--print-config"]
    try:
        settings = load(argv, os.environ, os.getcwd())
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(format_config(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
