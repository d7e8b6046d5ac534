"""Lab 10's tests: the loader in labs/10-configuration/starter/config.py, called and run.

Parts a to c call update(), read_config_file() and load(); part c also runs config.py as a
program with --print-config, in a directory with a lab.conf.py, as a student would.
One part at a time:  python -m pytest labs/10-configuration/tests -k test_10a_
Against unicorn:     LAB_IMPL=reference python -m pytest labs/10-configuration/tests
"""

import shlex
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unicorn.labs.testing import DEADLINE, Book, shorten

book = Book(__file__)

VALIDATORS, FILE, MISSPELT = ("Validators", "The config file is Python",
                              "A misspelt name is an error")
LAYERS, PRINT_CONFIG = "Four layers, later winning", "`--print-config`"

DEFAULTS = {"config": None, "bind": ["127.0.0.1:8000"], "workers": 1, "timeout": 30,
            "accesslog": None, "loglevel": "info"}
FLAGS = {"bind": ("-b", "--bind"), "workers": ("-w", "--workers"), "timeout": ("-t", "--timeout"),
         "accesslog": ("--access-logfile",), "loglevel": ("--log-level",)}


@pytest.fixture(scope="module")
def code(impl):
    """The loader module under test: the starter, or unicorn's adapter (LAB_IMPL)."""
    return impl.load("config")


def refused(code, call, *args):
    """The message of the ConfigError that call(*args) raises; fails the test if it returns."""
    try:
        result = call(*args)
    except code.ConfigError as error:
        return str(error)
    return f"<no ConfigError: returned {shorten(result, 60)}>"


def assert_mentions(message: str, words: list[str], section: str) -> None:
    missing = [word for word in words if word not in message]
    assert not missing, book.expected(f"a ConfigError naming {', '.join(map(repr, missing))}",
                                      message, section)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- Part a: the table and its validators ----------------------------------------------------


def test_10a_defaults(code):
    got = code.defaults()
    assert got == DEFAULTS, book.expected(DEFAULTS, got, VALIDATORS)


@pytest.mark.parametrize("name, raw, want", [
    ("workers", "4", 4), ("workers", 4, 4), ("timeout", "0", 0), ("timeout", 90, 90),
    ("loglevel", "debug", "debug"), ("loglevel", "WARNING", "warning"),
    ("bind", "127.0.0.1:9000", ["127.0.0.1:9000"]), ("bind", "localhost", ["localhost"]),
    ("bind", ["0.0.0.0:80", "unix:/tmp/lab.sock"], ["0.0.0.0:80", "unix:/tmp/lab.sock"]),
    ("accesslog", "-", "-"), ("accesslog", "/var/log/lab.log", "/var/log/lab.log"),
    ("accesslog", None, None),
])
def test_10a_good_values_from_text_or_python(code, name, raw, want):
    settings = {}
    code.update(settings, {name: raw}, "in a test")
    assert settings.get(name) == want, book.expected(
        f"{name}={want!r} from {raw!r}", settings.get(name), VALIDATORS)


@pytest.mark.parametrize("name, raw, shown", [
    ("workers", "0", "0"), ("workers", 0, "0"), ("workers", "four", "four"),
    ("workers", True, "True"), ("workers", 2.5, "2.5"), ("timeout", "-1", "-1"),
    ("loglevel", "loud", "loud"), ("loglevel", 10, "10"), ("bind", "127.0.0.1:http", "http"),
    ("bind", "127.0.0.1:65536", "65536"), ("bind", 8000, "8000"), ("accesslog", 5, "5"),
])
def test_10a_bad_value_says_which_where_and_why(code, name, raw, shown):
    source = "in config file /etc/lab/lab.conf.py"
    message = refused(code, code.update, {}, {name: raw}, source)
    assert_mentions(message, [name, source, shown], VALIDATORS)


def test_10a_unknown_name_is_refused(code):
    message = refused(code, code.update, {}, {"wrokers": 4}, "in LAB_CMD_ARGS")
    assert_mentions(message, ["wrokers", "in LAB_CMD_ARGS"], VALIDATORS)


@given(number=st.integers(-1000, 1000), as_text=st.booleans())
def test_10a_workers_is_an_integer_of_at_least_one(code, number, as_text):
    raw = str(number) if as_text else number
    settings = {}
    try:
        code.update(settings, {"workers": raw}, "in a test")
    except code.ConfigError:
        assert number < 1, book.expected(f"workers={number} accepted", "ConfigError", VALIDATORS)
        return
    assert number >= 1 and settings.get("workers") == number, book.expected(
        f"workers={number}" if number >= 1 else f"ConfigError for {raw!r}",
        settings.get("workers"), VALIDATORS)


# --- Part b: the config file -----------------------------------------------------------------


def test_10b_settings_are_read(code, tmp_path):
    path = write(tmp_path, "lab.conf.py", 'workers = 2\ntimeout = 60\nloglevel = "debug"\n')
    got = code.read_config_file(str(path))
    want = {"workers": 2, "timeout": 60, "loglevel": "debug"}
    assert got == want, book.expected(want, got, FILE)


def test_10b_imports_and_underscored_helpers_are_ignored(code, tmp_path):
    path = write(tmp_path, "lab.conf.py", "\n".join([
        "import os",
        "import os.path",
        "from math import ceil",
        "_cores = 4",
        "def _double(number):",
        "    return 2 * number",
        "workers = _double(_cores) + 1",
        'bind = [f"127.0.0.1:{8000 + port}" for port in range(2)]',
        "accesslog = os.devnull",
        "timeout = ceil(7.5)",
    ]))
    got = code.read_config_file(str(path))
    want = {"workers": 9, "bind": ["127.0.0.1:8000", "127.0.0.1:8001"], "accesslog": "/dev/null",
            "timeout": 8}
    assert got == want, book.expected(want, got, FILE)


@pytest.mark.parametrize("text, name", [
    ("wrokers = 4\n", "wrokers"),
    ("workers = 2\nlog_level = 'debug'\n", "log_level"),
    ("cores = 4\nworkers = 2 * cores + 1\n", "cores"),
])
def test_10b_unknown_name_names_the_file_and_the_name(code, tmp_path, text, name):
    path = write(tmp_path, "typo.conf.py", text)
    message = refused(code, code.read_config_file, str(path))
    assert_mentions(message, [name, "typo.conf.py"], MISSPELT)


@pytest.mark.parametrize("text", ["workers = (\n", "workers = 1 / 0\n", "import no_such_module\n",
                                  None])
def test_10b_a_file_that_cannot_run_names_the_file(code, tmp_path, text):
    path = tmp_path / "broken.conf.py"
    if text is not None:  # None: the file does not exist
        path.write_text(text)
    message = refused(code, code.read_config_file, str(path))
    assert_mentions(message, ["broken.conf.py"], FILE)


# --- Part c: four layers -----------------------------------------------------------------------


def test_10c_the_chapters_example(code, tmp_path):
    write(tmp_path, "lab.conf.py", 'workers = 2\ntimeout = 60\nloglevel = "debug"\n')
    got = code.load(["--workers", "5"], {"LAB_CMD_ARGS": "--timeout 90 --workers 3"},
                    str(tmp_path))
    want = dict(DEFAULTS, config=str(tmp_path / "lab.conf.py"), workers=5, timeout=90,
                loglevel="debug")
    assert got == want, book.expected(want, got, LAYERS)


VALUES = {
    "bind": st.lists(st.sampled_from(["127.0.0.1:8001", "0.0.0.0:80", "localhost:9000",
                                      "unix:/tmp/lab.sock"]), min_size=1, max_size=2),
    "workers": st.integers(1, 64),
    "timeout": st.integers(0, 3600),
    "accesslog": st.sampled_from(["-", "access.log", "/var/log/lab/access.log", "my logs/a.log"]),
    "loglevel": st.sampled_from(["debug", "info", "warning", "error", "critical"]),
}


@st.composite
def layers(draw):
    """For each setting, the value that each of file, LAB_CMD_ARGS and argv gives (None: unset)."""
    return {name: [draw(st.none() | values) for _ in range(3)] for name, values in VALUES.items()}


def as_arguments(draw, chosen: dict) -> list[str]:
    """Command-line arguments for `chosen`, in a random order and with random spellings."""
    args = []
    for name in draw(st.permutations(list(chosen))):
        flag = draw(st.sampled_from(FLAGS[name]))
        value = chosen[name]
        if name == "loglevel" and draw(st.booleans()):
            value = value.upper()  # the validator runs on every layer
        for item in value if isinstance(value, list) else [value]:
            joined = flag.startswith("--") and draw(st.booleans())
            args += [f"{flag}={item}"] if joined else [flag, str(item)]
    return args


@given(values=layers(), data=st.data())
def test_10c_the_last_layer_that_sets_a_value_wins(code, values, data):
    file, env, argv = ({name: by_layer[i] for name, by_layer in values.items()
                        if by_layer[i] is not None} for i in range(3))
    with tempfile.TemporaryDirectory() as directory:
        write(Path(directory), "lab.conf.py", "".join(f"{n} = {v!r}\n" for n, v in file.items()))
        environ = {"LAB_CMD_ARGS": shlex.join(as_arguments(data.draw, env))}
        args = as_arguments(data.draw, argv)
        got = code.load(args, environ, directory)
    want = dict(DEFAULTS, config=str(Path(directory) / "lab.conf.py"))
    for name, by_layer in values.items():
        for value in by_layer:
            if value is not None:
                want[name] = value
    assert got == want, book.says(
        f"lab.conf.py {file}, LAB_CMD_ARGS={environ['LAB_CMD_ARGS']!r}, argv {args}: expected "
        f"{want}, got {shorten(got, 300)}", LAYERS)


@pytest.mark.parametrize("argv, env, read", [
    ([], "", "lab.conf.py"),
    (["-c", "other.py"], "", "other.py"),
    ([], "--config other.py", "other.py"),
    (["--config=conf/third.py"], "-c other.py", "conf/third.py"),
    (["-c", "{tmp}/conf/third.py"], "", "conf/third.py"),
])
def test_10c_which_config_file_is_read(code, tmp_path, argv, env, read):
    for name, number in (("lab.conf.py", 2), ("other.py", 3), ("conf/third.py", 4)):
        write(tmp_path, name, f"workers = {number}\n")
    argv = [argument.replace("{tmp}", str(tmp_path)) for argument in argv]
    got = code.load(argv, {"LAB_CMD_ARGS": env}, str(tmp_path))
    workers = {"lab.conf.py": 2, "other.py": 3, "conf/third.py": 4}[read]
    want = {"config": str(tmp_path / read), "workers": workers}
    got = {name: got.get(name) for name in want}
    assert got == want, book.expected(want, got, LAYERS)


def test_10c_no_config_file(code, tmp_path):
    got = code.load([], {}, str(tmp_path))
    assert got == DEFAULTS, book.expected(DEFAULTS, got, LAYERS)


def test_10c_a_layer_replaces_a_list_it_does_not_extend_it(code, tmp_path):
    write(tmp_path, "lab.conf.py", 'bind = ["127.0.0.1:8001", "127.0.0.1:8002"]\n')
    got = code.load(["-b", "127.0.0.1:8003"], {}, str(tmp_path))["bind"]
    assert got == ["127.0.0.1:8003"], book.expected(["127.0.0.1:8003"], got, LAYERS)
    got = code.load(["-b", "unix:/tmp/a.sock", "--bind", ":9000"], {}, str(tmp_path))["bind"]
    assert got == ["unix:/tmp/a.sock", ":9000"], book.expected(
        ["unix:/tmp/a.sock", ":9000"], got, LAYERS)


@pytest.mark.parametrize("layer", ["file", "env", "argv"])
def test_10c_a_bad_value_names_its_layer(code, tmp_path, layer):
    write(tmp_path, "lab.conf.py", "workers = 0\n" if layer == "file" else "")
    environ = {"LAB_CMD_ARGS": "--workers 0" if layer == "env" else ""}
    message = refused(code, code.load, ["-w", "0"] if layer == "argv" else [], environ,
                      str(tmp_path))
    must = {"file": ["lab.conf.py"], "env": ["LAB_CMD_ARGS"], "argv": []}[layer]
    assert_mentions(message, ["workers", "0", *must], LAYERS)
    blamed = [other for other in ("lab.conf.py", "LAB_CMD_ARGS") if other in message
              and other not in must]
    assert not blamed, book.says(f"a bad value from {layer} blames {blamed[0]}: {message!r}",
                                 LAYERS)


@pytest.mark.parametrize("argv, env, words", [
    (["--wrokers", "3"], "", ["--wrokers"]),
    ([], "--workers '3", ["LAB_CMD_ARGS"]),
    (["-w"], "", ["-w"]),
])
def test_10c_bad_arguments_are_refused(code, tmp_path, argv, env, words):
    message = refused(code, code.load, argv, {"LAB_CMD_ARGS": env}, str(tmp_path))
    assert_mentions(message, words, LAYERS)


def run_program(impl, start, tmp_path: Path, argv: list[str], cmd_args: str):
    """Run config.py with `argv` in `tmp_path`; return (exit status, output lines)."""
    env = impl.environment()
    env["LAB_CMD_ARGS"] = cmd_args
    process = start(impl.command("config") + argv, env, tmp_path)
    status = process.popen.wait(DEADLINE)
    process.kill()  # already gone: this only waits until all its output has been collected
    return status, process.lines


def test_10c_print_config(impl, start, tmp_path):
    write(tmp_path, "lab.conf.py", 'workers = 2\ntimeout = 60\nloglevel = "debug"\n')
    status, lines = run_program(impl, start, tmp_path.resolve(), ["--print-config", "-w", "5"],
                                "--timeout 90 --workers 3")
    want = [f"config = {str(tmp_path.resolve() / 'lab.conf.py')!r}",
            "bind = ['127.0.0.1:8000']", "workers = 5", "timeout = 90", "accesslog = None",
            "loglevel = 'debug'"]
    assert (status, lines) == (0, want), book.expected((0, want), (status, lines), PRINT_CONFIG)


def test_10c_print_config_with_a_misspelt_name_fails(impl, start, tmp_path):
    write(tmp_path, "lab.conf.py", "wrokers = 4\n")
    status, lines = run_program(impl, start, tmp_path, ["--print-config"], "")
    good = (status == 1 and len(lines) == 1 and lines[0].startswith("Error: ")
            and "wrokers" in lines[0] and "lab.conf.py" in lines[0])
    assert good, book.expected("exit status 1 and one line 'Error: ...' naming wrokers and "
                               "lab.conf.py", (status, lines), MISSPELT)
