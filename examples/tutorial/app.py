#!/usr/bin/env python
"""The one-page Flask app that a deployment tutorial serves first.

    pip install flask unicorn-wsgi
    cd examples/tutorial && unicorn --workers=4 --bind=0.0.0.0:5000 app:app

`app:app` is MODULE:VARIABLE: the module app.py, and the variable `app` in it,
which is the Flask object (a Flask object is a WSGI application).
tests/test_notes.py replays the tutorials' commands against it.
"""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello from a Flask app, served by unicorn\n"


if __name__ == "__main__":
    # Flask's own development server, for `python app.py`: one process, not for production.
    app.run()
