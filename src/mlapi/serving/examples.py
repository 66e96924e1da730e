"""An example request to a served model and its answer, for the documents that show it.

The row is the one the model's version recorded from its data set, or one built for it
(:mod:`mlapi.ml.examples`); the answer is the model's own, so a document shows what a
client gets back.
"""

from mlapi.ml import InvalidInputError, IrisClassifier
from mlapi.ml.examples import ExampleRow, example_row, placeholder_row
from mlapi.serving.records import ModelVersion, Predictions, ServedExample


def served_example(
    version: ModelVersion, classifier: IrisClassifier, *, data_rows: bool = True
) -> ServedExample:
    """Show a model by a row it takes and its answer, predicted here (one row, blocking).

    Args:
        version: The model's version record.
        classifier: The model, loaded.
        data_rows: Whether the row its version recorded from the training data may be
            shown; if not, only a row of a bundled public data set is.

    Returns:
        The example: a row of the model's data set where one is known, else (or if the
        model refuses the row it recorded) placeholders of each feature's type.

    Raises:
        InvalidInputError: If the model refuses placeholders too (an inconsistent model).
    """
    metadata = classifier.metadata
    if metadata is None:
        raise InvalidInputError("the classifier is not trained: it has no example")
    row = example_row(metadata, recorded=data_rows)
    try:
        answer = classifier.predict([row.values])
    except InvalidInputError:
        row = ExampleRow(placeholder_row(metadata.feature_types), placeholder=True)
        answer = classifier.predict([row.values])
    predictions = Predictions(
        prediction=answer["prediction"],
        probability=answer["probability"],
        labels=classifier.labels(answer["prediction"]),
        model_version=version.version,
    )
    return ServedExample(version, row.values, row.placeholder, predictions)
