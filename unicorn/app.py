"""Find the WSGI application that APP_MODULE names, such as ``hello:app`` or ``hello:make(2)``.

The module is imported, the attribute path followed, and a factory call with
literal arguments made. Every failure becomes one AppImportError line; an
exception the app's own code raised stays as __cause__, and app_traceback
shows it.

Explained in the chapter "WSGI".
gunicorn: import_app in gunicorn/util.py, and gunicorn/app/wsgiapp.py.
Left out: paste deployment files.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

# gunicorn's exit statuses, which the arbiter uses when a worker cannot start.
WORKER_BOOT_ERROR = 3  # a worker died before it could serve
APP_LOAD_ERROR = 4  # a worker could not load the application

DEFAULT_VARIABLE = "application"  # what ``module`` alone means, as in mod_wsgi and gunicorn


class AppImportError(Exception):
    """The application could not be loaded; str() is one line naming the app."""


def load_app(uri: str) -> Callable:
    """Import MODULE, then evaluate the part after ':' as an attribute path or a factory call.

    ``mod``, ``mod:app``, ``mod:objects.app`` and ``mod:make_app('x', debug=True)`` are
    accepted; a factory's arguments must be Python literals, never arbitrary code.
    """
    module_name, _, expression = uri.partition(":")
    expression = expression or DEFAULT_VARIABLE
    attribute_path, arguments = parse_expression(expression, uri)
    module = import_module(module_name, uri)
    app = find_attribute(module, module_name, attribute_path)
    if arguments is not None:
        app = call_factory(app, arguments, uri)
    if not callable(app):
        raise AppImportError(f"{uri!r} is not callable (it is {type(app).__name__})")
    return app


Arguments = tuple[list[Any], dict[str, Any]]


def parse_expression(expression: str, uri: str) -> tuple[list[str], Arguments | None]:
    """Split ``a.b`` or ``a.b(1, x='y')`` into the path ['a', 'b'] and the literal arguments."""
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise AppImportError(f"Failed to parse {expression!r} in app {uri!r} as an attribute "
                             "name or a function call") from None
    arguments = None
    if isinstance(tree, ast.Call):
        arguments = literal_arguments(tree, uri)
        tree = tree.func
    path = attribute_path(tree)
    if path is None:
        raise AppImportError(f"{expression!r} in app {uri!r} is not an attribute name "
                             "or a function call")
    return path, arguments


def attribute_path(node: ast.expr) -> list[str] | None:
    """['a', 'b', 'c'] for the expression a.b.c; None for anything else."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        parent = attribute_path(node.value)
        return None if parent is None else parent + [node.attr]
    return None


def literal_arguments(call: ast.Call, uri: str) -> Arguments:
    try:
        positional = [ast.literal_eval(argument) for argument in call.args]
        keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords
                    if keyword.arg is not None}
    except ValueError:
        raise AppImportError(f"The arguments in app {uri!r} must be Python literals "
                             "such as 'text', 42, True or None") from None
    if len(keywords) != len(call.keywords):
        raise AppImportError(f"The arguments in app {uri!r} may not use **")
    return positional, keywords


def import_module(module_name: str, uri: str) -> Any:
    """Import the module, telling 'not found' apart from 'found, but it raised'."""
    if not module_name:
        raise AppImportError(f"No module named in app {uri!r}; expected MODULE:VARIABLE")
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and is_module_or_parent(error.name, module_name):
            # The one line says it all: no traceback of importlib looking for it.
            raise AppImportError(not_found_message(error.name, module_name, uri)) from None
        raise AppImportError(raised_message(error, module_name, uri)) from error
    except Exception as error:
        raise AppImportError(raised_message(error, module_name, uri)) from error


def is_module_or_parent(missing: str, module_name: str) -> bool:
    return module_name == missing or module_name.startswith(missing + ".")


def not_found_message(missing: str, module_name: str, uri: str) -> str:
    message = f"No module named {missing!r} (while importing app {uri!r})"
    if module_name.endswith(".py"):
        message += f"; did you mean {module_name.removesuffix('.py')!r}?"
    return message


def raised_message(error: BaseException, module_name: str, uri: str) -> str:
    detail = " ".join(str(error).split())
    return f"Importing {module_name!r} for app {uri!r} raised {type(error).__name__}: {detail}"


def find_attribute(module: Any, module_name: str, path: list[str]) -> Any:
    found = module
    for name in path:
        try:
            found = getattr(found, name)
        except AttributeError:
            raise AppImportError(f"Failed to find attribute {'.'.join(path)!r} "
                                 f"in {module_name!r}.") from None
    return found


def call_factory(factory: Any, arguments: Arguments, uri: str) -> Any:
    """Call an application factory; arguments that do not fit are our error, not its."""
    positional, keywords = arguments
    if not callable(factory):
        raise AppImportError(f"The factory in app {uri!r} is not callable")
    try:
        inspect.signature(factory).bind(*positional, **keywords)
    except TypeError as error:
        raise AppImportError(f"Cannot call the factory in app {uri!r}: {error}") from None
    except ValueError:  # no signature to inspect (some builtins): let the call decide
        pass
    try:
        return factory(*positional, **keywords)
    except Exception as error:
        detail = " ".join(str(error).split())
        raise AppImportError(f"The factory in app {uri!r} raised "
                             f"{type(error).__name__}: {detail}") from error


def app_traceback(error: AppImportError) -> str:
    """The traceback of what the application's code raised, or "" if nothing did.

    It goes into the error log above the one-line summary: the summary names the
    exception, the traceback the file and line to fix. Frames of importlib and of
    this module are left out; they are the same for every app and hide the one that matters.
    """
    cause = error.__cause__
    if cause is None:
        return ""
    report = traceback.TracebackException.from_exception(cause)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not is_loader_frame(frame.filename)])
    return "".join(report.format()).rstrip("\n")


def is_loader_frame(filename: str) -> bool:
    """Is this frame part of loading the app (importlib, this module), not of the app?"""
    return filename in (__file__, importlib.__file__) or filename.startswith("<frozen importlib")


def prepare_import_path(chdir: str, pythonpath: str | None) -> None:
    """chdir first, then put the new working directory on sys.path, then pythonpath
    entries in front of it, as gunicorn does: APP_MODULE is found relative to chdir."""
    os.chdir(chdir)
    put_first_on_path(chdir)
    for entry in reversed((pythonpath or "").split(",")):
        if entry.strip():
            put_first_on_path(os.path.abspath(entry.strip()))


def put_first_on_path(directory: str) -> None:
    if directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)
