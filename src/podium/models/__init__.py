"""Models: the `Model` protocol, provider adapters, the scripted model, prices."""

from podium.models._base import FinishReason, Model, ModelRequest, ModelResponse, Usage
from podium.models._pricing import Price, get_price, set_price
from podium.models._resolve import default_model_name, resolve_model
from podium.models._retry import RetryingModel, RetryPolicy
from podium.models._scripted import ScriptedModel

__all__ = [
    "FinishReason",
    "Model",
    "ModelRequest",
    "ModelResponse",
    "Price",
    "RetryPolicy",
    "RetryingModel",
    "ScriptedModel",
    "Usage",
    "default_model_name",
    "get_price",
    "resolve_model",
    "set_price",
]
