"""The service layer: every operation, behind one entry point, for every front.

Between the fronts (the REST routes in ``api/``, the ``mlapi`` command in ``cli/``) and
the machine learning in :mod:`mlapi.ml`. Fronts call :class:`~mlapi.serving.service.Service`
and nothing else here; they get back the records of :mod:`~mlapi.serving.records` or one
of the errors of :mod:`~mlapi.serving.errors`.

* :mod:`~mlapi.serving.service`: the entry point, one method per operation.
* :mod:`~mlapi.serving.prediction`: predicting a batch without stalling the event loop.
* :mod:`~mlapi.serving.records`, :mod:`~mlapi.serving.errors`: what the operations
  return and raise.
* :mod:`~mlapi.serving.active_model`: the model this process serves, swapped atomically.
* :mod:`~mlapi.serving.registry`, :mod:`~mlapi.serving.store`: versions in a database,
  their files in a folder or object store.
* :mod:`~mlapi.serving.training`: what a training trains, defaults resolved once.
* :mod:`~mlapi.serving.jobs`: training jobs, from queued row to registered version.
* :mod:`~mlapi.serving.database`, :mod:`~mlapi.serving.tables`: the registry's engine,
  migrations and tables.

A prediction: ``Service.predict`` checks the row limit, takes the served model from
``ActiveModel`` and has ``Predictor`` ask it. A training job: ``Service.train`` resolves
the order (``training.resolve_training``) and queues it (``jobs.store``); a dispatcher
runs it in a training process (``jobs.worker``), which registers the version, and
``jobs.finish.finish_job`` activates it. The docs' architecture page follows both
from the request to the answer.
"""
