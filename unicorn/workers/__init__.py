"""Worker classes, by the names ``--worker-class`` accepts.

``sync`` serves one request per connection; ``gthread`` keeps connections
alive and runs the app in a pool of threads; ``gevent`` gives each
connection a green thread. Anything else is a dotted path to a Worker subclass.

Explained in the chapter "The sync worker".
gunicorn: the worker table in gunicorn/workers/__init__.py.
Left out: eventlet, tornado and the asyncio workers.
"""

import importlib

WORKER_CLASSES = {
    "sync": "unicorn.workers.sync.SyncWorker",
    "gthread": "unicorn.workers.gthread.ThreadWorker",
    # Imported only when chosen: gevent is an optional extra (unicorn-wsgi[gevent]).
    "gevent": "unicorn.workers.ggevent.GeventWorker",
}


def load_worker_class(uri: str) -> type:
    """Resolve "sync", "gthread", "gevent" or "package.module.Class" to a class."""
    path = WORKER_CLASSES.get(uri, uri)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise ImportError(f"worker class {uri!r} is not a known name or a dotted path")
    return getattr(importlib.import_module(module_name), class_name)
