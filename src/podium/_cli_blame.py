"""Rich renderings of `podium blame` results."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from podium.observe import EntryBlame, ErrorBlame, FinalBlame, Hop

__all__ = ["render_blame"]

_EXCERPT = 110


def _cut(text: str, limit: int = _EXCERPT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _hop(h: Hop, prefix: str = "← ", origin: bool = False) -> Text:
    line = Text(prefix, style="dim")
    line.append(h.label, style="bold magenta" if origin else "bold")
    line.append(f" · {h.agent}", style="cyan")
    line.append(f" · {h.path}", style="dim")
    if origin:
        line.append("  [origin]", style="magenta")
    if h.excerpt:
        line.append(f'\n    "{_cut(h.excerpt)}"', style="dim")
    return line


def _render_final(console: Console, run_id: str, data: FinalBlame) -> None:
    console.print(
        Text.assemble(
            ("blame ", "dim"),
            (run_id, "bold"),
            (f": the final output, {len(data.claims)} claim{_s(len(data.claims))}", ""),
        )
    )
    if not data.claims:
        console.print(Text("no sentence of at least 3 words to trace", style="dim"))
    for i, claim in enumerate(data.claims, 1):
        console.print(Text(f'\n{i}. "{_cut(claim.claim, 200)}"', style="bold"))
        if claim.origin is None:
            console.print(
                Text("   no earlier event contains it: written by the final step", "yellow")
            )
        else:
            where = Text("   origin: ", style="dim")
            where.append(f"{claim.origin.agent}", style="bold magenta")
            where.append(f" at {claim.origin.path} ({claim.origin.label})")
            console.print(where)
        for h in claim.hops:
            first = h is claim.hops[0]
            console.print(
                _hop(h, prefix="   " if first else "   ← ", origin=h is claim.origin and not first)
            )


def _entry_tree(tree: Tree, entry: EntryBlame) -> None:
    head = Text.assemble(
        (f"{entry.key} v{entry.version}", "bold"),
        (" written by ", "dim"),
        (entry.write.agent, "cyan"),
        (f" at {entry.write.path}", "dim"),
        (f'\n  "{_cut(entry.write.excerpt)}"', "dim"),
    )
    node = tree.add(head)
    if entry.producer is not None:
        node.add(_hop(entry.producer, prefix="produced by ", origin=not entry.sources))
    for source in entry.sources:
        _entry_tree(node.add(Text("derived from", style="dim")), source)


def _render_key(console: Console, run_id: str, data: EntryBlame) -> None:
    tree = Tree(Text.assemble(("blame ", "dim"), (run_id, "bold"), f": blackboard {data.key}"))
    _entry_tree(tree, data)
    console.print(tree)


def _render_error(console: Console, run_id: str, data: ErrorBlame) -> None:
    console.print(Text.assemble(("blame ", "dim"), (run_id, "bold"), (": the first error", "")))
    console.print(Text(f"{data.error_type} ({data.code}): {data.message}", style="bold red"))
    console.print(
        Text.assemble(
            ("blamed step: ", "dim"),
            (data.step, "bold"),
            (" · agent ", "dim"),
            (data.agent, "cyan"),
        )
    )
    if data.cause is not None:
        console.print(_hop(data.cause, prefix="cause: "))
    console.print(_hop(data.surfaced, prefix="surfaced: "))
    if data.enclosing:
        console.print(Text("inside:", style="dim"))
    for enc in data.enclosing:
        what = enc.kind + (f" {enc.subtask}" if enc.subtask else "")
        team = f" ({enc.team})" if enc.team else ""
        console.print(
            Text.assemble(
                ("  ", ""),
                (f"{what}", "bold"),
                (f" · {enc.agent}{team}", "cyan"),
                (f" · {enc.path}", "dim"),
            )
        )
    if data.teams:
        console.print(Text.assemble(("teams: ", "dim"), (" ← ".join(data.teams), "bold")))


def render_blame(console: Console, run_id: str, data: FinalBlame | EntryBlame | ErrorBlame) -> None:
    """Print a blame result: claims and their hops, an entry's lineage, or an error's place."""
    if isinstance(data, FinalBlame):
        _render_final(console, run_id, data)
    elif isinstance(data, EntryBlame):
        _render_key(console, run_id, data)
    else:
        _render_error(console, run_id, data)
