"""The REST front: HTTP in, HTTP out, and nothing else.

Each route parses its request (pydantic schemas in :mod:`~mlapi.api.schemas`), calls one
method of :class:`~mlapi.serving.service.Service` (reached through
:mod:`~mlapi.api.deps`), and answers with the record it returns. Every error the layers
below raise becomes an ``application/problem+json`` response in one place,
:mod:`~mlapi.api.errors`, which also turns their row, column and hyperparameter
locations into JSON Pointers into the request. :mod:`~mlapi.api.middleware` and
:mod:`~mlapi.api.routing` refuse what no route should see (oversized or non-JSON
bodies, unknown query parameters).

A prediction: ``routes/predict.py`` gets ``{"data": [[...]]}`` parsed, calls
``Service.predict`` and answers the ``Predictions`` record; a row the model refuses comes
back from ``ml`` as row 3, column 1 and leaves ``errors.py`` as ``#/data/3/1``. A training
job: ``routes/jobs.py`` parses the body (one request model per algorithm), calls
``Service.train`` and answers 202 with the queued ``TrainingJob`` and its ``Location``.
"""
