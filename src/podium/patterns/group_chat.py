"""Group chat: participants take turns on one conversation, within a visible window."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, create_model

from podium._engine._context import StepContext, Task, as_text, bound
from podium._engine._loop import LoopOptions
from podium._engine._runnable import RunMixin
from podium._engine._runner import Runnable
from podium._engine._signals import GuardStop
from podium._engine._team import run_team
from podium.agent import Agent
from podium.errors import ConfigError
from podium.events import EventKind
from podium.guards._budget import Budget
from podium.guards._loops import near_duplicate
from podium.registry import Registry, suggest
from podium.result import StopReason

__all__ = ["ChatMessage", "GroupChat", "Selector"]

log = logging.getLogger("podium.group_chat")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatMessage:
    """One message of a group chat."""

    round: int
    speaker: str
    text: str


#: Picks the next speaker's name from the messages so far.
Selector = Literal["round_robin"] | Callable[[Sequence[ChatMessage], Sequence[str]], str] | Agent


class _NextSpeaker(BaseModel):
    speaker: str


@functools.cache
def _choice_of(names: tuple[str, ...]) -> type[_NextSpeaker]:
    """`_NextSpeaker` whose schema lists the participants: a model can only name one."""
    return create_model(
        "_NextSpeaker",
        __base__=_NextSpeaker,
        speaker=(Literal.__getitem__(names), ...),  # type: ignore[arg-type]
    )


def _render(messages: Sequence[ChatMessage]) -> str:
    return "\n\n".join(f"[round {m.round}] {m.speaker}: {m.text.strip()}" for m in messages)


@dataclass(eq=False)
class GroupChat(RunMixin):
    """Participants speak in turn on a shared conversation.

    Each speaker sees its own instructions, the original task and the last
    `window` messages — never more unless `window` is None (an explicit opt-in
    to unbounded history). Every truncation is stated in the prompt and logged.

    Args:
        participants: the agents (or teams) taking part; more than 3 logs a warning.
        selector: ``"round_robin"``, a function ``(messages, names) -> name``, or an
            agent that picks the next speaker.
        max_rounds: messages at most.
        terminate: ``(messages) -> bool``; True ends the chat.
        window: how many recent messages each speaker sees; ``"auto"`` (the
            default) is the number of other participants, at least 2 — in a
            round robin, exactly what was said since the speaker's last turn;
            None shows everything.
        done_signal: a speaker ending its message with this ends the chat.
        name: the chat's name (its registry card when it is a worker).
        role: its capability card.
        budget: this team's own share of the run's budget (caps what the team
            may spend; whatever it does not spend stays with its parent).
    """

    participants: Sequence[Runnable]
    _: KW_ONLY
    selector: Selector = "round_robin"
    max_rounds: int = 10
    terminate: Callable[[Sequence[ChatMessage]], bool] | None = None
    window: int | Literal["auto"] | None = "auto"
    done_signal: str = "DONE"
    name: str = "group_chat"
    role: str = ""
    budget: Budget | None = None
    registry: Registry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.participants)
        if len(self.registry) < 2:
            raise ConfigError(f"group chat {self.name}: needs at least two participants")
        if self.max_rounds < 1:
            raise ConfigError(f"group chat {self.name}: max_rounds must be at least 1")
        window = self.window
        if window == "auto":
            window = max(2, len(self.registry) - 1)
        if window is not None and (not isinstance(window, int) or window < 1):
            raise ConfigError(
                f"group chat {self.name}: window must be at least 1, 'auto' or None, "
                f"not {self.window!r}"
            )
        self._window: int | None = window

    @property
    def visible_window(self) -> int | None:
        """How many recent messages a speaker sees (None: all), with "auto" resolved."""
        return self._window

    async def invoke(self, task: Task, ctx: StepContext) -> Any:
        """Run the conversation; its output is the last message."""
        return await run_team(self, task, ctx, "group_chat", self._work)

    async def _work(self, task: Task, ctx: StepContext) -> Any:
        if len(self.registry) > 3:
            message = (
                f"group chat {self.name} has {len(self.registry)} participants; "
                "chats above 3 tend to cost more and converge less"
            )
            log.warning(message)
            ctx.emit(EventKind.NOTICE, payload={"code": "many_participants", "message": message})
        messages: list[ChatMessage] = []
        ended = await self._converse(task, ctx, messages)
        ctx.emit(
            EventKind.NOTICE,
            payload={"code": "chat_ended", "reason": ended, "rounds": len(messages)},
        )
        return self._final(messages)

    async def _converse(self, task: Task, ctx: StepContext, messages: list[ChatMessage]) -> str:
        stale: list[str] = []
        for round_ in range(self.max_rounds):
            writes_before = ctx.state.blackboard.writes
            speaker = self.registry.get(await self._select(round_, messages, task, ctx))
            round_ctx = ctx.child(f"round[{round_}]", agent=speaker.name, nest=True)
            turn_task = self._turn_task(task, messages, round_, round_ctx)
            if isinstance(speaker, Agent):
                output = await speaker.invoke(
                    turn_task, round_ctx, LoopOptions(extra_system=self._chat_guide(speaker.name))
                )
            else:
                output = await speaker.invoke(turn_task, round_ctx)
            text = as_text(output)
            message = ChatMessage(round=round_, speaker=speaker.name, text=text)
            messages.append(message)
            round_ctx.emit(
                EventKind.CHAT_MESSAGE,
                payload={"round": round_, "speaker": speaker.name, "text": bound(text)},
            )
            if text.rstrip().endswith(self.done_signal):
                return "done_signal"
            stale = self._staleness(stale, messages, round_ctx, writes_before)
            if self.terminate is not None and self.terminate(messages):
                return "condition"
        return "max_rounds"

    def _staleness(
        self, stale: list[str], messages: list[ChatMessage], ctx: StepContext, writes: int
    ) -> list[str]:
        """Rounds in a row that added nothing; stops with ``loop`` at the policy's limit."""
        policy = ctx.state.loops
        if not policy.enabled or policy.stale_chat_rounds < 1:
            return stale
        # at least a full round back: a speaker repeating its own last message adds
        # nothing either, though a window of the *other* participants hides it
        look = None if self._window is None else max(self._window, len(self.registry))
        recent = messages[:-1] if look is None else messages[-look - 1 : -1]
        new_entry = ctx.state.blackboard.writes != writes
        if new_entry or not near_duplicate(
            messages[-1].text, [m.text for m in recent], policy.similarity
        ):
            return []
        stale = [*stale, ctx.path]
        if len(stale) >= policy.stale_chat_rounds:
            speakers = sorted({m.speaker for m in messages[-len(stale) :]})
            ctx.emit(
                EventKind.LOOP_DETECTED,
                payload={"detector": "stale_chat", "agents": speakers, "steps": stale},
            )
            raise GuardStop(
                StopReason.LOOP,
                f"group chat {self.name}: {len(stale)} rounds in a row added no new "
                f"information (speakers {', '.join(speakers)})",
                path=ctx.path,
                agent=self.name,
            )
        return stale

    def _final(self, messages: list[ChatMessage]) -> str:
        if not messages:
            return ""
        text = messages[-1].text.rstrip()
        return text.removesuffix(self.done_signal).rstrip()

    def _chat_guide(self, me: str) -> str:
        others = ", ".join(n for n in self.registry.names if n != me)
        return (
            f"You are in a group chat with {others}. Add something new: do not repeat "
            f"what was said. When the task is fully done, end your message with "
            f"{self.done_signal}."
        )

    def _turn_task(
        self, task: Task, messages: list[ChatMessage], round_: int, ctx: StepContext
    ) -> Task:
        visible = messages if self._window is None else messages[-self._window :]
        hidden = len(messages) - len(visible)
        if not messages:
            return task
        header = "Conversation so far"
        if hidden:
            header += f" ({hidden} earlier message{'s' if hidden != 1 else ''} not shown)"
            ctx.emit(
                EventKind.NOTICE,
                payload={
                    "code": "history_truncated",
                    "round": round_,
                    "hidden": hidden,
                    "shown": len(visible),
                    "window": self._window,
                },
            )
        return Task(
            text=task.text,
            inputs=task.inputs,
            memory=task.memory,
            context=(*task.context, (header, _render(visible))),
        )

    async def _select(
        self, round_: int, messages: list[ChatMessage], task: Task, ctx: StepContext
    ) -> str:
        names = self.registry.names
        if self.selector == "round_robin":
            return names[round_ % len(names)]
        if isinstance(self.selector, Agent):
            return await self._select_by_model(self.selector, round_, messages, task, ctx)
        if callable(self.selector):
            name = self.selector(messages, names)
            if name not in self.registry:
                raise ConfigError(
                    f"group chat {self.name}: the selector chose {name!r}, not a participant"
                    f"{suggest(name, names)}"
                )
            return name
        raise ConfigError(f"group chat {self.name}: unknown selector {self.selector!r}")

    async def _select_by_model(
        self,
        agent: Agent,
        round_: int,
        messages: list[ChatMessage],
        task: Task,
        ctx: StepContext,
    ) -> str:
        names = self.registry.names

        def check(choice: _NextSpeaker) -> None:
            if choice.speaker not in names:
                raise ValueError(
                    f"{choice.speaker!r} is not a participant"
                    f"{suggest(choice.speaker, names)}; choose one of {names}"
                )

        recent = messages if self._window is None else messages[-self._window :]
        prompt = Task(
            text=f"Choose who speaks next in the group chat on this task.\n\n## Task\n"
            f"{task.text}\n\n## Participants\n{self.registry.cards()}",
            context=(("Recent messages", _render(recent) or "(none yet)"),),
        )
        choice: _NextSpeaker = await agent.invoke(
            prompt,
            ctx.child(f"select[{round_}]", agent=agent.name),
            LoopOptions(output_type=_choice_of(tuple(names)), check=check),
        )
        return choice.speaker
