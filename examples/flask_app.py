"""A Flask application, to show that unicorn serves any WSGI framework.

    pip install flask
    python -m unicorn --chdir examples flask_app:app

A Flask object *is* a WSGI application: ``app(environ, start_response)``
is exactly what the worker calls.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello from Flask on unicorn!\n"


@app.post("/echo")
def echo():
    return jsonify(received=request.get_data(as_text=True), length=request.content_length)
