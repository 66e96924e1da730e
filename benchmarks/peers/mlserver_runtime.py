"""Seldon MLServer's custom runtime for an mlapi model file (V2 inference protocol).

The model settings name this class as ``implementation`` and the file as
``parameters.uri``. A request's first input is an FP64 tensor of shape ``[rows, 4]``; the
answer holds ``probability`` (FP64, ``[rows, classes]``) and ``prediction`` (INT64,
``[rows]``). With adaptive batching on (``max_batch_size`` > 1 in the model settings),
MLServer stacks the queued requests' inputs along the first axis before ``predict`` and
splits the outputs back, so this code is the same either way.
"""

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

from benchmarks.peers.estimator import load_estimator, predict


class SkopsRuntime(MLModel):
    """Serves the estimator of one mlapi model file."""

    async def load(self) -> bool:
        """Read the estimator named by the model settings' ``parameters.uri``.

        Returns:
            True once loaded.
        """
        self._estimator = load_estimator(self.settings.parameters.uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Answer a V2 request: class probabilities and predicted classes of its rows.

        Args:
            payload: A request whose first input is an FP64 ``[rows, 4]`` tensor.

        Returns:
            The ``probability`` and ``prediction`` outputs.
        """
        rows = NumpyCodec.decode_input(payload.inputs[0])
        probability, prediction = predict(self._estimator, rows)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            outputs=[
                NumpyCodec.encode_output("probability", probability),
                NumpyCodec.encode_output("prediction", prediction),
            ],
        )
