"""Training jobs: queued as rows, run in separate processes, finished by the server.

A job's life, one module per step:

1. :mod:`~mlapi.serving.jobs.store`: the service queues a row (state ``queued``).
2. :mod:`~mlapi.serving.jobs.dispatcher`: a server's dispatcher claims it and hands it to
   its pool of training processes (or the CLI runs it in-process).
3. :mod:`~mlapi.serving.jobs.worker`: in the training process, the row goes ``running``,
   the model is trained with a heartbeat and progress, and its version registered.
4. Back in the dispatcher, :func:`~mlapi.serving.jobs.finish.finish_job` activates the
   version if asked and marks the job ``succeeded``; any failure marks it ``failed``.

A process that dies mid-job stops its heartbeat; whichever server sweeps next fails the
job, so none stays ``running`` forever.
"""
