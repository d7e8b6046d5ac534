"""Broken for this lab: the listening socket's fd is not made inheritable before the exec.

Python opens every fd close-on-exec (PEP 446), so the exec closes the socket in the new master;
UNICORN_FD names a number that is no longer a socket, and the new master cannot adopt it. It
gives up (or, in a server that then binds instead, finds the port taken, and would only get it
in a gap after the old master closed). Either way the upgrade never happens, and the old master
serves alone. Made with unicorn's pre_exec hook (_mistakes.py).
"""

import sys

from unicorn.labs.broken.lab14 import run_with_mistake

REPLACES = "server"
CAUGHT_BY = (
    "test_14a_usr2_starts_a_new_master_that_serves_on_the_same_port",
    "test_14a_the_port_never_refuses_a_connection_during_usr2",
    "test_14a_the_new_master_binds_nothing_of_its_own",
    "test_14c_a_running_client_never_notices_the_upgrade",
)


def main(argv: list[str]) -> None:
    run_with_mistake("closes_socket_on_exec", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
