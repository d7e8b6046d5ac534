import pytest

from tests.server import Server


@pytest.fixture
def start_server():
    """Start real unicorn servers; every one is killed, with its workers, at teardown."""
    started = []

    def start(*args, **kwargs) -> Server:
        server = Server(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
