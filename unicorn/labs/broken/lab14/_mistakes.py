"""A unicorn config file for lab 14's broken variants: hooks that undo one thing unicorn does.

Not a variant itself (its name starts with "_"). The mistake is named by LAB14_MISTAKE, which
survives the USR2 exec because unicorn hands its launch environment to the new master.
"""

import os as _os


def _mistake() -> str:
    return _os.environ.get("LAB14_MISTAKE", "")


def on_starting(server):
    """In every master, old and new, before it opens its sockets."""
    from unicorn import upgrade

    if _mistake() == "forgets_pidfile_rename":
        keeps_pidfile_2 = upgrade.promote_if_old_master_gone

        def promote_without_rename(old_master_pid, pidfile, pidfile_path, log):
            return keeps_pidfile_2(old_master_pid, None, pidfile_path, log)

        upgrade.promote_if_old_master_gone = promote_without_rename
    if _mistake() == "kills_workers_on_term":
        server.handle_term = server.handle_quit


def pre_exec(server):
    """In the child forked by USR2, just before the exec."""
    from unicorn import sockets, upgrade

    if _mistake() == "closes_socket_on_exec":
        def fds_left_close_on_exec(listeners):
            return {sockets.UNICORN_FD: ",".join(str(item.fileno()) for item in listeners)}

        upgrade.listener_fds_env = fds_left_close_on_exec
