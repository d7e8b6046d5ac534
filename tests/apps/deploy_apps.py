"""The app for tests/test_deploy.py: it says which unicorn instance answered."""

import os


def instance(environ, start_response):
    """Answers with the master's pid (the worker's parent): one number per instance."""
    body = str(os.getppid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
