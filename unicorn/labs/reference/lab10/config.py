"""Lab 10's loader over unicorn's own, unicorn/config.py, restricted to the lab's six settings.

The layers, the validators, the config file reader and --print-config are unicorn's. What the
adapter adds is translation: the lab's environment variable is LAB_CMD_ARGS where unicorn reads
UNICORN_CMD_ARGS (and only it: PORT and WEB_CONCURRENCY are not lab layers), the lab's implicit
file is lab.conf.py in `cwd` where unicorn reads ./unicorn.conf.py, and a name that unicorn
knows but the lab does not is refused where the lab can see it (update, read_config_file,
parse_arguments; load lets unicorn's other settings through, and the tests never use them).
"""

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import Any

ENVIRONMENT_VARIABLE = "LAB_CMD_ARGS"
DEFAULT_CONFIG_FILE = "lab.conf.py"
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# The lab's settings, in the order of unicorn's table (and so of --print-config).
NAMES = ("config", "bind", "workers", "timeout", "accesslog", "loglevel")


class ConfigError(Exception):
    """A setting could not be loaded. str() is one line: which setting or name, where, why."""


def unicorn_config():
    """unicorn's config module. If a rename in unicorn breaks lab 10, fix this line."""
    from unicorn import config

    return config


def in_lab_words(error: Exception) -> ConfigError:
    """unicorn's message, naming the lab's environment variable instead of its own."""
    return ConfigError(str(error).replace("UNICORN_CMD_ARGS", ENVIRONMENT_VARIABLE))


def refuse_other_names(names, source: str) -> None:
    """unicorn has some seventy settings; the lab has six, and the rest are unknown to it."""
    config = unicorn_config()
    for name in names:
        if name in NAMES:
            continue
        if name in config.SETTINGS_BY_NAME:
            where = f" {source}" if source else ""
            raise ConfigError(f"Unknown setting {name!r}{where}: unicorn has it, the lab does not")
        raise ConfigError(config.unknown_setting_message(name, source))


def update(settings: dict[str, Any], values: Mapping[str, Any], source: str) -> None:
    config = unicorn_config()
    refuse_other_names(values, source)
    cfg = config.Config()
    try:
        cfg.update(values, source)
    except config.ConfigError as error:
        raise in_lab_words(error) from None
    settings.update((name, getattr(cfg, name)) for name in values)


def defaults() -> dict[str, Any]:
    cfg = unicorn_config().Config()
    return {name: getattr(cfg, name) for name in NAMES}


def read_config_file(path: str) -> dict[str, Any]:
    config = unicorn_config()
    try:
        values = config.read_config_file(path)
    except config.ConfigError as error:
        raise in_lab_words(error) from None
    refuse_other_names(values, f"in config file {path}")
    return values


def parse_arguments(args: list[str], source: str) -> dict[str, Any]:
    config = unicorn_config()
    try:
        values = config.parse_arguments(config.build_parser(), list(args), source)
    except config.ConfigError as error:
        raise in_lab_words(error) from None
    refuse_other_names(values, source)
    return values


def names_a_file(args: list[str]) -> bool:
    """Whether -c appears in `args`; a mistake in them is left for Config.load to report."""
    try:
        return "config" in parse_arguments(args, "")
    except ConfigError:
        return False


def load(argv: list[str], environ: Mapping[str, str], cwd: str) -> dict[str, Any]:
    config = unicorn_config()
    environment = {"UNICORN_CMD_ARGS": environ.get(ENVIRONMENT_VARIABLE, "")}
    # unicorn reads relative paths, and looks for its implicit file, in the process's directory.
    with contextlib.chdir(cwd):
        argv = list(argv)
        try:
            from_environment = config.split_command_args(environment["UNICORN_CMD_ARGS"])
        except config.ConfigError:
            from_environment = []
        if (os.path.isfile(DEFAULT_CONFIG_FILE) and not names_a_file(argv)
                and not names_a_file(from_environment)):
            argv = ["-c", DEFAULT_CONFIG_FILE, *argv]  # the lab's name for ./unicorn.conf.py
        try:
            cfg = config.Config.load(argv, environment)
        except config.ConfigError as error:
            raise in_lab_words(error) from None
    return {name: getattr(cfg, name) for name in NAMES}


def format_config(settings: Mapping[str, Any]) -> str:
    config = unicorn_config()
    cfg = config.Config()
    cfg.update(settings)
    lines = config.format_config(cfg).splitlines()
    return "\n".join(line for line in lines if line.split(" = ", 1)[0] in NAMES)


def main(argv: list[str]) -> int:
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
