"""A module whose own import is missing: the app's module exists, its dependency does not."""

import unicorn_test_dependency_that_does_not_exist  # noqa: F401


def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]
