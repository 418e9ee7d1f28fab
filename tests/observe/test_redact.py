"""The redactor's pre-check finds a secret wherever it sits in a payload."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from enum import StrEnum

import pytest

from podium.observe import REDACTED, Redactor

KEY = "sk-ant-" + "a1B2c3D4e5F6g7H8i9J0"


class Flavour(StrEnum):
    PLAIN = "plain"


def test_a_secret_is_found_at_any_depth_and_in_any_mapping_or_sequence() -> None:
    redactor = Redactor()
    nested = defaultdict(list, {"inner": ("ok", ["deep", {"key": KEY}])})
    payloads = [
        {"text": KEY},
        {"messages": [{"role": "user", "content": f"use {KEY} please"}]},
        {"ordered": OrderedDict(a=1, b=KEY)},
        {"nested": nested, "n": 3, "none": None, "flag": True, "kind": Flavour.PLAIN},
    ]
    for payload in payloads:
        assert redactor.might_contain_obj(payload), payload
        assert KEY not in repr(redactor.scrub_obj(payload))
        assert REDACTED in repr(redactor.scrub_obj(payload))


def test_a_secret_is_found_in_a_string_passed_alone_also_a_str_subclass() -> None:
    class Text(str):
        pass

    redactor = Redactor()
    assert redactor.might_contain_obj(f"key {KEY}")
    assert redactor.might_contain_obj(Text(f"key {KEY}"))
    assert not redactor.might_contain_obj(Text("nothing here"))


def test_texts_found_clean_stay_clean_and_secrets_are_found_every_time() -> None:
    redactor = Redactor(values=["hunter2-very-secret"])
    clean = {"text": "the quarterly numbers are fine", "list": ["a", "bb", "ccc"]}
    assert not redactor.might_contain_obj(clean)
    assert not redactor.might_contain_obj(dict(clean))  # remembered: same answer
    for _ in range(3):  # a secret is never remembered as clean
        assert redactor.might_contain_obj({"text": "password hunter2-very-secret"})
    assert redactor.scrub("x hunter2-very-secret y") == f"x {REDACTED} y"


def test_every_documented_key_shape_is_redacted() -> None:
    redactor = Redactor()
    keys = [
        "sk-proj-" + "a1B2c3D4e5F6g7H8i9J0k1",
        KEY,
        "Bearer " + "abcdefghijklmnop1234",
        "AKIA" + "ABCDEFGHIJKLMNOP",
        "ghp_" + "a" * 36,
        "github_pat_" + "11ABCDEFG0123456789_abcdefghij",
        "glpat-" + "abcdefghij0123456789",
        "sk_live_" + "a1B2c3D4e5F6g7H8i9J0",
        "rk_live_" + "a1B2c3D4e5F6g7H8i9J0",
        "hf_" + "a1B2c3D4e5F6g7H8i9J0a1B2c3D4e5F6",
        "xoxb-" + "1234567890-abcdef",
        "AIza" + "B" * 35,
    ]
    for key in keys:
        text = f"the key is {key} here"
        assert redactor.might_contain_obj({"text": text}), key
        assert redactor.scrub(text) == f"the key is {REDACTED} here", key


def test_the_default_redactor_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from podium.observe import default_redactor

    first = default_redactor()
    assert default_redactor() is first  # unchanged environment: the same redactor
    monkeypatch.setenv("BILLING_API_KEY", "zq9-billing-value")
    added = default_redactor()
    assert added is not first
    assert added.scrub("charge with zq9-billing-value") == f"charge with {REDACTED}"
    monkeypatch.setenv("BILLING_API_KEY", "zq9-rotated-value")  # same name, new value
    rotated = default_redactor()
    assert rotated.scrub("zq9-rotated-value zq9-billing-value") == (f"{REDACTED} zq9-billing-value")
    monkeypatch.setenv("PODIUM_REDACT", r"order-\d{6}")
    assert default_redactor().scrub("order-123456") == REDACTED
    monkeypatch.delenv("BILLING_API_KEY")
    monkeypatch.delenv("PODIUM_REDACT")
    assert default_redactor().scrub("zq9-rotated-value order-123456") == (
        "zq9-rotated-value order-123456"
    )
