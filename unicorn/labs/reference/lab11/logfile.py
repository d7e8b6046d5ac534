"""Lab 11b and 11c's reference: a unicorn Logger with an access log file, and its reopen_files.

unicorn's log files are logging.FileHandlers; Logger.reopen_files (USR1) reopens every one in
the process with unicorn.log._reopen, which opens the new file before closing the old one and
keeps the old one when the open fails. A LogFile here is the access log of its own Logger, so
one LogFile at a time per process: a new Logger takes the unicorn.access logger over.
"""


def unicorn_log():
    """unicorn's logging module. If a rename in unicorn breaks lab 11, fix this line."""
    from unicorn import log

    return log


class LogFile:
    def __init__(self, path: str) -> None:
        self.path = path
        # errorlog "-": a reopen that fails is reported on standard error.
        self._logger = unicorn_log().Logger(errorlog="-", accesslog=path)

    def write(self, line: str) -> None:
        self._logger.access_log.info("%s", line)

    def reopen(self) -> None:
        self._logger.reopen_files()

    def close(self) -> None:
        for handler in list(self._logger.access_log.handlers):
            self._logger.access_log.removeHandler(handler)
            handler.close()
