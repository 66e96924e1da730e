"""What a training process does first, before it imports anything heavy.

This module imports only the standard library (and :mod:`mlapi.logs`, which imports
only it and orjson): a process of the training pool unpickles its initializer, and so
imports this module, before the warm-up imports scikit-learn.
"""

import os
import threading
import time

from mlapi.logs import configure


def start_training_process(
    parent: int, niceness: int, log_settings: tuple[str, str] | None = None
) -> None:
    """Yield the CPU to the server, log as it does, and end when it is gone.

    A training process runs at a lower priority (a higher nice value) than the server, so
    a job, and the start-up import of scikit-learn, take what CPU the server leaves
    rather than slowing its predictions. A server killed outright (SIGKILL, OOM) cannot
    shut its pool down; without the watch, its idle training processes would live on,
    orphaned.

    Args:
        parent: Process id of the server.
        niceness: How much to lower this process's priority (0 to 19; 0 keeps the server's).
        log_settings: The server's log level and format, for this process's lines (a
            job's carry the id of the request that queued it); None leaves logging as
            Python sets it up.
    """
    if niceness:
        os.nice(niceness)
    if log_settings is not None:
        configure(*log_settings, capture_warnings=True)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
