"""Lab 14's reference: unicorn's own USR2 upgrade, run as the lab's server.

Run as a program, this module *is* `python -m unicorn -w N --pid PIDFILE MODULE:APP`: main() execs
unicorn with the lab's options, so the tests send USR2 and TERM to unicorn's arbiter. The lab's
functions live in unicorn as: listen -> sockets.inherited_listeners (UNICORN_FD) and
create_listeners; reexec -> upgrade.reexec and exec_new_master; pidfile_path ->
upgrade.pidfile_path; take_over_pidfile -> upgrade.promote_if_old_master_gone and
Pidfile.rename; stop_gracefully -> Arbiter.handle_term and Arbiter.halt.
"""

import os
import sys


def unicorn_command(argv: list[str]) -> list[str]:
    """The unicorn command line for the lab's `server.py -b HOST:PORT -w N --pid PATH APP`;
    the lab's options are unicorn's own. If a renamed option breaks lab 14, fix this line."""
    return [sys.executable, "-m", "unicorn", *argv]


def main(argv: list[str]) -> None:
    """exec, not a call: the process the test started is unicorn's master, as in production.
    unicorn's USR2 execs `python -m unicorn` with these same arguments again."""
    command = unicorn_command(argv)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
