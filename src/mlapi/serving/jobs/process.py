"""What a training process does first, before it imports anything heavy.

This module imports only the standard library: a process of the training pool unpickles
its initializer, and so imports this module, before the warm-up imports scikit-learn.
"""

import os
import threading
import time


def start_training_process(parent: int, niceness: int) -> None:
    """Yield the CPU to the server, and end when the server that started it is gone.

    A training process runs at a lower priority (a higher nice value) than the server, so
    a job, and the start-up import of scikit-learn, take what CPU the server leaves
    rather than slowing its predictions. A server killed outright (SIGKILL, OOM) cannot
    shut its pool down; without the watch, its idle training processes would live on,
    orphaned.

    Args:
        parent: Process id of the server.
        niceness: How much to lower this process's priority (0 to 19; 0 keeps the server's).
    """
    if niceness:
        os.nice(niceness)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
