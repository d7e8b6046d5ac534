"""A module that fails while being imported, for tests/test_app_loading.py."""


def app(environ, start_response):
    start_response("200 OK", [])
    return [b""]


raise RuntimeError("boom while importing")
