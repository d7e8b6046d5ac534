"""unicorn: a readable pre-fork WSGI server, written to be taught from.

The package mirrors gunicorn's layout so that a reader can hold the two side
by side: ``arbiter`` is the master process, ``workers`` serve requests, and
``http`` turns bytes into requests and responses back into bytes. A request's
whole path, by function name, is mapped in ``unicorn.workers.base``.

Explained in the chapter "Reading gunicorn".
gunicorn: gunicorn/__init__.py.
"""

__version__ = "0.1.0"
SERVER_SOFTWARE = f"unicorn/{__version__}"
