"""Tools and the stage check of the release-notes pipeline (offline data)."""

from __future__ import annotations

from podium import tool

CHANGELOG = {
    "2.1": [
        "feat: pipelines can check a stage's output and retry it once with feedback",
        "feat: agents declare blackboard reads and writes; entries keep their provenance",
        "fix: resuming a run no longer repeats finished tool calls",
        "change: the default max_turns is now 10 (was 20)",
        "docs: a page per team pattern",
    ],
    "2.0": [
        "feat: group chats with a bounded history window",
        "change: Python 3.11 or newer is required",
    ],
}


@tool
def list_changes(version: str) -> list[str]:
    """The changelog entries of a release, e.g. version "2.1"."""
    for known, changes in CHANGELOG.items():
        if known in version:
            return changes
    return [f"no changelog for {version!r}; known versions: {', '.join(CHANGELOG)}"]


@tool
def style_guide() -> str:
    """The house style for release notes."""
    return (
        "Lead with what users can do now. One bullet per change, most useful first. "
        "Call out breaking changes under 'Upgrading'. No marketing words."
    )


def release_note_ok(note: object) -> str | None:
    """None when the note is publishable, else feedback for one more attempt."""
    text = str(note).strip()
    if not text:
        return "the release note is empty"
    if len(text.split()) > 200:
        return f"the release note has {len(text.split())} words; cut it to at most 200"
    for placeholder in ("TODO", "TBD", "lorem ipsum"):
        if placeholder.lower() in text.lower():
            return f"remove the placeholder {placeholder!r}"
    return None
