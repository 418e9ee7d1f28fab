"""The error tree as users meet it: one root, stable codes, and errors that travel."""

from __future__ import annotations

import copy
import pickle

import pytest

import podium
from podium import errors
from podium.errors import (
    AllModelsFailed,
    CircuitOpen,
    PodiumError,
    ProviderError,
    ReplayDivergence,
    RunBusy,
    RunError,
    SpecError,
)
from podium.result import AgentUsage, RunUsage


def _all_errors() -> list[type[PodiumError]]:
    found: list[type[PodiumError]] = []
    todo: list[type[PodiumError]] = [PodiumError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _sample(cls: type[PodiumError]) -> PodiumError:
    """One instance of `cls` with every field set."""
    if issubclass(cls, AllModelsFailed):
        first = ProviderError("rate limited", provider="openai", model="a", status=429)
        second = ProviderError("down", provider="anthropic", model="b", retry_after=2.5)
        return cls([first, second], provider="fallback", model="a,b")
    if issubclass(cls, ProviderError):
        return cls(
            "bad gateway", provider="openai", model="m", status=502, attempts=3, retry_after=1.5
        )
    if issubclass(cls, SpecError):
        return cls("unknown key 'agnets'", file="team.yaml", line=3, column=1, key="agnets")
    if issubclass(cls, RunError):
        usage = RunUsage(total=AgentUsage(model_calls=2, cost_usd=0.01))
        return cls("it failed", run_id="run-1", usage=usage)
    if issubclass(cls, ReplayDivergence):
        return cls("step root/plan/model#0: the request differs", step="root/plan/model#0")
    return cls("something went wrong")


@pytest.mark.parametrize("cls", _all_errors(), ids=lambda c: c.__name__)
def test_every_error_survives_pickle_and_copy(cls: type[PodiumError]) -> None:
    exc = _sample(cls)
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc), copy.deepcopy(exc)):
        assert type(clone) is cls
        assert str(clone) == str(exc)
        assert repr(clone) == repr(exc)
        assert repr(vars(clone)) == repr(vars(exc))  # every field, nested errors too
        assert clone.code == exc.code


def test_pickled_errors_keep_their_fields() -> None:
    fallback = pickle.loads(pickle.dumps(_sample(AllModelsFailed)))
    assert isinstance(fallback, AllModelsFailed)
    assert [e.status for e in fallback.errors] == [429, None]
    assert fallback.retry_after == 2.5
    busy = pickle.loads(pickle.dumps(_sample(RunBusy)))
    assert isinstance(busy, RunBusy)
    assert busy.run_id == "run-1"
    assert busy.usage is not None and busy.usage.total.model_calls == 2
    spec = pickle.loads(pickle.dumps(_sample(SpecError)))
    assert isinstance(spec, SpecError)
    assert spec.location == "team.yaml:3:1"


def test_every_error_is_exported_with_a_unique_code() -> None:
    classes = _all_errors()
    assert len({c.code for c in classes}) == len(classes)
    for cls in classes:
        assert cls.__name__ in errors.__all__, cls.__name__
        assert getattr(podium, cls.__name__) is cls, cls.__name__
        assert cls.__name__ in podium.__all__, cls.__name__
    assert CircuitOpen.code == "circuit_open"
