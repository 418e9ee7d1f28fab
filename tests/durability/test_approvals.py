"""Approval gates: pause, then approve / reject / edit from other processes, then resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium import Agent, ConfigError, EventKind, MemoryStore, StopReason, tool
from podium.approvals import Approval, ApprovalRequest, ask_human
from podium.testing import ScriptedModel, call

TOOLS = '''
from pathlib import Path
from podium import tool

@tool(effect="write", needs_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email."""
    with Path("outbox.txt").open("a") as f:
        f.write(f"{to}|{body}\\n")
    return "sent"
'''

SPEC = """\
version: 1
name: mailer
agents:
  lead: {role: plans}
  clerk:
    role: sends emails
    tools: ["mail_tools:send_email"]
team:
  pattern: orchestrator
  planner: lead
  workers: [clerk]
"""


def podium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PODIUM_MODEL")
    }
    exe = Path(sys.executable).with_name("podium")
    return subprocess.run(
        [str(exe), *args, "--store", str(tmp / "runs.db")],
        cwd=tmp,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def started(tmp: Path) -> tuple[str, str]:
    (tmp / "mail_tools.py").write_text(TOOLS)
    (tmp / "team.yaml").write_text(SPEC)
    ran = podium(tmp, "run", "team.yaml", "email the report to ops", "--json")
    assert ran.returncode == 1, ran.stderr
    result = json.loads(ran.stdout)
    assert result["stop_reason"] == "waiting_approval"
    assert not (tmp / "outbox.txt").exists()
    pending = json.loads(podium(tmp, "approvals", "--json").stdout)
    assert len(pending) == 1 and pending[0]["name"] == "send_email"
    assert pending[0]["agent"] == "clerk"
    return result["run_id"], pending[0]["step"]


def decision_events(tmp: Path, run_id: str) -> list[dict[str, object]]:
    exported = podium(tmp, "export", run_id)
    events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    return [e for e in events if e["kind"] == "approval_decision"]


@pytest.mark.slow
def test_approve_from_another_process_then_resume_runs_the_tool_once(tmp_path: Path) -> None:
    run_id, step = started(tmp_path)
    approved = podium(tmp_path, "approve", run_id, step, "--comment", "looks right")
    assert approved.returncode == 0, approved.stderr
    resumed = podium(tmp_path, "resume", run_id, "--json")
    assert json.loads(resumed.stdout)["stop_reason"] == "completed", resumed.stderr
    assert len((tmp_path / "outbox.txt").read_text().splitlines()) == 1
    (decision,) = decision_events(tmp_path, run_id)
    payload = decision["payload"]
    assert payload["approved"] is True and payload["comment"] == "looks right"  # type: ignore[index]
    assert "@" in str(payload["decided_by"])  # type: ignore[index]
    # replaying the same decision again does not execute the tool again
    again = podium(tmp_path, "resume", run_id, "--json")
    assert again.returncode != 0 and "already completed" in again.stderr
    assert len((tmp_path / "outbox.txt").read_text().splitlines()) == 1


@pytest.mark.slow
def test_reject_is_fed_back_to_the_agent(tmp_path: Path) -> None:
    run_id, step = started(tmp_path)
    assert podium(tmp_path, "reject", run_id, step, "--reason", "not to ops").returncode == 0
    resumed = podium(tmp_path, "resume", run_id, "--json")
    assert json.loads(resumed.stdout)["stop_reason"] == "completed"
    assert not (tmp_path / "outbox.txt").exists()
    exported = [json.loads(x) for x in podium(tmp_path, "export", run_id).stdout.splitlines()]
    results = [e for e in exported if e["kind"] == "tool_result"]
    assert "rejected by" in results[-1]["payload"]["result"]
    assert "not to ops" in results[-1]["payload"]["result"]


@pytest.mark.slow
def test_edit_runs_the_tool_with_the_edited_arguments(tmp_path: Path) -> None:
    run_id, step = started(tmp_path)
    edit = json.dumps({"to": "boss@example.com", "body": "edited body"})
    assert podium(tmp_path, "approve", run_id, step, "--edit", edit).returncode == 0
    assert podium(tmp_path, "resume", run_id).returncode == 0
    assert (tmp_path / "outbox.txt").read_text() == "boss@example.com|edited body\n"
    assert decision_events(tmp_path, run_id)[0]["payload"]["edited_arguments"] == edit  # type: ignore[index]


@pytest.mark.slow
def test_an_edit_that_does_not_fit_the_tool_is_refused_by_podium_approve(tmp_path: Path) -> None:
    run_id, step = started(tmp_path)
    edit = json.dumps({"to": "boss@example.com", "bdy": "typo"})
    refused = podium(tmp_path, "approve", run_id, step, "--edit", edit)
    assert refused.returncode == 1
    assert "body: missing" in refused.stderr and "bdy: not an argument" in refused.stderr
    assert [p["step"] for p in json.loads(podium(tmp_path, "approvals", "--json").stdout)] == [step]


sent: list[str] = []


@tool(effect="write", needs_approval=True, approval_timeout=0.05)
async def launch(target: str) -> str:
    """Launch something."""
    sent.append(target)
    return "launched"


def launcher() -> Agent:
    return Agent(
        "ops",
        tools=[launch],
        model=ScriptedModel(
            fn=lambda r: (
                "ok" if any(m.role == "tool" for m in r.messages) else call("launch", target="moon")
            )
        ),
    )


async def test_in_process_approver_and_the_binding_to_the_exact_call() -> None:
    seen: list[ApprovalRequest] = []

    def approver(request: ApprovalRequest) -> Approval:
        seen.append(request)
        return Approval(approved=True, comment="fine", decided_by="alice")

    sent.clear()
    store = MemoryStore()
    result = await launcher().run("go", store=store, approver=approver)
    assert result.ok and sent == ["moon"]
    assert seen[0].name == "launch" and json.loads(seen[0].arguments) == {"target": "moon"}
    decided = [
        e for e in await store.events(result.run_id) if e.kind is EventKind.APPROVAL_DECISION
    ]
    assert decided[0].payload["decided_by"] == "alice"


async def test_gate_timeout_defaults_to_deny() -> None:
    import asyncio

    async def slow(request: ApprovalRequest) -> bool:
        await asyncio.sleep(5)
        return True

    sent.clear()
    result = await launcher().run("go", store=MemoryStore(), approver=slow)
    assert result.ok and sent == []


async def test_decision_for_different_arguments_is_rejected_fail_closed() -> None:
    from podium.approvals import decide

    sent.clear()
    store = MemoryStore()
    paused = await launcher().run("go", store=store)
    assert paused.stop_reason is StopReason.WAITING_APPROVAL
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
    )
    await decide(store, paused.run_id, step, Approval(approved=True, decided_by="bob"))
    # the team changed: the same step now asks to launch something else
    other = Agent(
        "ops",
        tools=[launch],
        instructions="be bold",
        model=ScriptedModel(
            fn=lambda r: (
                "ok" if any(m.role == "tool" for m in r.messages) else call("launch", target="mars")
            )
        ),
    )
    resumed = await other.resume(paused.run_id, store=store, reexecute=True)
    assert resumed.ok and sent == []
    security = [e for e in await store.events(paused.run_id) if e.kind is EventKind.SECURITY]
    assert security and security[0].payload["reason"] == "approval_mismatch"


async def test_ask_human_pauses_with_waiting_input_and_resumes_with_the_answer() -> None:
    from podium.approvals import decide

    model = ScriptedModel(
        fn=lambda r: next(
            (f"going with {m.content}" for m in r.messages if m.role == "tool"),
            call("ask_human", question="Which region?"),
        )
    )
    agent = Agent("planner", tools=[ask_human], model=model)
    store = MemoryStore()
    paused = await agent.run("deploy", store=store)
    assert paused.stop_reason is StopReason.WAITING_INPUT
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.INPUT_REQUEST
    )
    await decide(store, paused.run_id, step, Approval(approved=True, answer="eu-west"))
    with pytest.raises(ConfigError, match=r"was already approved by .*\(pending: none\)"):
        await decide(store, paused.run_id, step, Approval(approved=True, answer="us-east"))
    done = await agent.resume(paused.run_id, store=store)
    assert done.output == "going with eu-west"
    assert len(model.requests) == 2  # the first call was replayed, not made again


async def test_pipeline_stage_gate_pauses_then_runs_or_stops() -> None:
    from podium.approvals import decide
    from podium.patterns import Pipeline, Stage

    def pipeline() -> Pipeline:
        draft = Agent("draft", model=ScriptedModel(["the draft"]))
        publish = Agent("publish", model=ScriptedModel(["published"]))
        return Pipeline([draft, Stage(publish, approval=True)])

    for approved, expected in ((True, StopReason.COMPLETED), (False, StopReason.REJECTED)):
        store = MemoryStore()
        team = pipeline()
        paused = await team.run("ship it", store=store)
        assert paused.stop_reason is StopReason.WAITING_APPROVAL
        request = next(
            e for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
        )
        assert request.path == "root/gate[publish]" and "the draft" in request.payload["arguments"]
        await decide(
            store,
            paused.run_id,
            request.path,
            Approval(approved=approved, comment="ok" if approved else "not yet"),
        )
        final = await team.resume(paused.run_id, store=store)
        assert final.stop_reason is expected
        if approved:
            assert final.output == "published"


async def test_spend_before_a_pause_counts_after_resume() -> None:
    from podium import Budget
    from podium.approvals import decide
    from podium.testing import Price

    price = Price(input=10.0, output=30.0)
    model = ScriptedModel(
        fn=lambda r: (
            "ok" if any(m.role == "tool" for m in r.messages) else call("launch", target="moon")
        ),
        price=price,
    )
    agent = Agent("ops", tools=[launch], model=model)
    store = MemoryStore()
    paused = await agent.run("go", store=store, budget=Budget(usd=1.0))
    assert paused.stop_reason is StopReason.WAITING_APPROVAL
    first_cost = paused.usage.total.cost_usd
    assert first_cost > 0
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
    )
    await decide(store, paused.run_id, step, Approval(approved=True))
    # the resumed run's budget still has the first call's spend on it: a cap just
    # above that spend leaves no room for the second call
    capped = await agent.resume(paused.run_id, store=store, budget=Budget(usd=first_cost * 1.05))
    assert capped.stop_reason is StopReason.BUDGET
    assert capped.usage.total.cost_usd == pytest.approx(first_cost)  # read back, not reset


async def test_a_secret_in_the_task_makes_resume_say_why_it_diverges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podium.approvals import decide
    from podium.errors import ReplayDivergence

    monkeypatch.setenv("FOO_API_KEY", "some-secret-value")

    @tool(effect="write", needs_approval=True)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    agent = Agent(
        "writer", tools=[publish], model=ScriptedModel([call("publish", text="hi"), "done"])
    )
    store = MemoryStore()
    paused = await agent.run("use some-secret-value", store=store)
    assert paused.stop_reason is StopReason.WAITING_APPROVAL
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
    )
    await decide(store, paused.run_id, step, Approval(approved=True))
    with pytest.raises(ReplayDivergence, match="held a secret, which is never stored"):
        await agent.resume(paused.run_id, store=store)


async def paused_launch(store: MemoryStore) -> tuple[str, str]:
    paused = await launcher().run("go", store=store)
    assert paused.stop_reason is StopReason.WAITING_APPROVAL
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
    )
    return paused.run_id, step


@pytest.mark.parametrize("answer", ["no", "deny", {"approved": False}, [False]])
async def test_an_approver_answer_that_is_not_a_decision_does_not_approve(answer: object) -> None:
    sent.clear()
    store = MemoryStore()
    result = await launcher().run("go", store=store, approver=lambda request: answer)
    assert result.ok and sent == []
    (told,) = [e for e in await store.events(result.run_id) if e.kind is EventKind.TOOL_RESULT]
    assert "not an Approval or a bool" in told.payload["result"]


async def test_a_decision_after_the_gate_timed_out_is_refused_and_the_default_applies() -> None:
    import asyncio

    from podium.approvals import decide
    from podium.errors import ConfigError

    sent.clear()
    store = MemoryStore()
    run_id, step = await paused_launch(store)
    await asyncio.sleep(0.1)  # launch's approval_timeout (0.05 s) is up: the default is deny
    with pytest.raises(ConfigError, match="timed out"):
        await decide(store, run_id, step, Approval(approved=True))
    resumed = await launcher().resume(run_id, store=store)
    assert resumed.ok and sent == []
    decided = [e for e in await store.events(run_id) if e.kind is EventKind.APPROVAL_DECISION]
    assert [e.payload["decided_by"] for e in decided] == ["timeout"]


@tool(effect="write", needs_approval=True)
def book(city: str, nights: int, note: str = "") -> str:
    """Book a hotel."""
    sent.append(f"{city}/{nights}/{note}")
    return "booked"


def booker() -> Agent:
    return Agent(
        "travel",
        tools=[book],
        model=ScriptedModel(
            fn=lambda r: next(
                (m.content for m in r.messages if m.role == "tool"),
                call("book", city="Oslo", nights=2),
            )
        ),
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ('{"city": "Bergen"}', "nights"),  # a required argument is missing
        ('{"city": "Bergen", "nights": "two"}', "nights"),  # the wrong type
        ('{"city": "Bergen", "nights": 3, "nite": "quiet"}', "nite"),  # a typo is not dropped
        ('["Bergen", 3]', "JSON object"),
    ],
)
async def test_an_edit_that_does_not_fit_the_tool_is_refused_when_deciding(
    edit: str, problem: str
) -> None:
    from podium.approvals import decide, pending_approvals
    from podium.errors import ConfigError

    sent.clear()
    store = MemoryStore()
    paused = await booker().run("book a stay", store=store)
    (gate,) = await pending_approvals(store)
    with pytest.raises(ConfigError, match=problem):
        await decide(
            store, paused.run_id, gate.step, Approval(approved=True, edited_arguments=edit)
        )
    assert [p.step for p in await pending_approvals(store)] == [gate.step]  # still undecided
    fits = '{"city": "Bergen", "nights": 3, "note": "quiet"}'
    await decide(store, paused.run_id, gate.step, Approval(approved=True, edited_arguments=fits))
    assert (await booker().resume(paused.run_id, store=store)).ok
    assert sent == ["Bergen/3/quiet"]


async def test_an_edit_of_a_gate_that_is_not_a_tool_call_is_refused() -> None:
    from podium.approvals import decide, pending_approvals
    from podium.errors import ConfigError
    from podium.patterns import Pipeline, Stage

    team = Pipeline(
        [
            Agent("draft", model=ScriptedModel(["the draft"])),
            Stage(Agent("publish", model=ScriptedModel(["published"])), approval=True),
        ]
    )
    store = MemoryStore()
    paused = await team.run("ship it", store=store)
    (gate,) = await pending_approvals(store)
    with pytest.raises(ConfigError, match="only a tool call"):
        await decide(
            store, paused.run_id, gate.step, Approval(approved=True, edited_arguments="{}")
        )


async def test_an_edit_holding_a_secret_is_refused_and_a_comment_is_stored_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podium.approvals import decide
    from podium.errors import ConfigError

    secret = "sk-proj-abcdefghijklmnopqrstuvwx"
    monkeypatch.setenv("TRAVEL_API_KEY", secret)
    sent.clear()
    store = MemoryStore()
    paused = await booker().run("book a stay", store=store)
    step = next(
        e.path for e in await store.events(paused.run_id) if e.kind is EventKind.APPROVAL_REQUEST
    )
    edit = json.dumps({"city": "Oslo", "nights": 2, "note": f"pay with {secret}"})
    with pytest.raises(ConfigError, match="secret"):
        await decide(store, paused.run_id, step, Approval(approved=True, edited_arguments=edit))
    await decide(store, paused.run_id, step, Approval(approved=True, comment=f"key {secret}"))
    assert (await booker().resume(paused.run_id, store=store)).ok
    assert sent == ["Oslo/2/"]  # never run with "[REDACTED]" in place of the secret
    assert secret not in json.dumps([e.to_dict() for e in await store.events(paused.run_id)])


async def test_a_step_a_pause_cut_short_ends_as_it_really_ended_after_resume() -> None:
    import json

    from podium import Orchestrator
    from podium.approvals import decide
    from podium.observe import build_trace

    @tool(effect="write", needs_approval=True)
    def publish(text: str) -> str:
        """Publish the text."""
        return "published"

    plan = json.dumps({"subtasks": [{"id": "t1", "assignee": "w", "instructions": "publish"}]})
    team = Orchestrator(
        planner=Agent("lead", model=ScriptedModel([plan, "final"])),
        workers=[
            Agent("w", tools=[publish], model=ScriptedModel([call("publish", text="x"), "done"]))
        ],
    )
    store = MemoryStore()
    paused = await team.run("go", store=store)
    events = await store.events(paused.run_id)
    step = next(e.path for e in events if e.kind is EventKind.APPROVAL_REQUEST)
    await decide(store, paused.run_id, step, Approval(approved=True))
    assert (await team.resume(paused.run_id, store=store)).ok
    events = await store.events(paused.run_id)
    ends = [
        e.payload["status"]
        for e in events
        if e.kind is EventKind.AGENT_END and e.path == "root/task[t1]"
    ]
    assert ends == ["stopped", "ok"]  # the pause's end, then the real one
    subtask = next(n for n in build_trace(events).root.walk() if n.path == "root/task[t1]")
    assert subtask.status == "ok"  # not left "stopped" by the pause
