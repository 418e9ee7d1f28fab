"""Models: the `Model` protocol, provider adapters, wrappers, the scripted model, prices."""

from podium.models._base import FinishReason, Model, ModelRequest, ModelResponse, Usage
from podium.models._circuit import CircuitBreaker, CircuitBreakerModel, CircuitState
from podium.models._fallback import FallbackModel
from podium.models._pricing import Price, get_price, set_price
from podium.models._resolve import default_model_name, resolve_model
from podium.models._retry import RetryingModel, RetryPolicy
from podium.models._scripted import ScriptedModel

__all__ = [
    "CircuitBreaker",
    "CircuitBreakerModel",
    "CircuitState",
    "FallbackModel",
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
