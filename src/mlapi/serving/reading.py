"""Reading large model files in a helper process, away from the requests being served.

skops builds a model file's objects one by one, in Python, after checking every type it
names: two seconds of CPU for a 300-stage boosting model. Done in a thread of a serving
process, that time is taken from the requests served meanwhile (the predict p99 went up
tens of times during such activations, the event loop starved of the interpreter lock).
A file this large is read instead by a helper process, started for the read and gone
after it: it runs the same checked :func:`~mlapi.ml.persistence.loads` and hands the
objects it built back over a private pipe, pickled by the standard library; unpickling
them here takes a fortieth of the time. The helper runs at the server's own priority: it
does the activation someone asked for, and at a lower one a busy server starved it for
minutes. Starting it and importing scikit-learn costs 1.5 to 2 s of CPU, seconds more
for such an activation: a file under 2 MB (a decision tree, 20 kB; the default 100-stage
boosting, 1.2 MB, under a second) is read in place, where a helper would cost more than
it saves.
"""

import os
from collections.abc import Collection
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from mlapi.ml.persistence import loads
from mlapi.serving.jobs.process import start_training_process

#: Files at least this large are read in a helper process.
HELPER_MIN_BYTES = 2_000_000


class ModelReader:
    """Reads model files, the large ones in a helper process.

    Args:
        helper_min_bytes: Files at least this large are read in a helper process.
    """

    def __init__(self, helper_min_bytes: int = HELPER_MIN_BYTES) -> None:
        self._helper_min_bytes = helper_min_bytes

    def __call__(self, data: bytes, trusted: Collection[str]) -> tuple[Any, dict[str, Any]]:
        """Read a model file's bytes as :func:`~mlapi.ml.persistence.loads` does. Blocks.

        Raises:
            ModelFileError: As :func:`~mlapi.ml.persistence.loads`, from whichever process.
        """
        if len(data) < self._helper_min_bytes:
            return loads(data, trusted)
        # spawn: forking a process that runs threads and an event loop is unsafe.
        with ProcessPoolExecutor(
            max_workers=1,
            mp_context=get_context("spawn"),
            initializer=start_training_process,
            initargs=(os.getpid(), 0),  # gone with the server, at its priority
        ) as helper:
            return helper.submit(loads, data, sorted(trusted)).result()
