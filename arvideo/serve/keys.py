"""The page's keys -> the game's action ids, shown on the page.

The same mapping as the terminal player (arvideo/play.py): arrows and space to the ALE
action meanings the game has; no key held is NOOP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from arvideo.play import KEY_MEANINGS, action_for_key

BROWSER_KEYS = {"up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight"}
BROWSER_KEYS["space"] = " "


@dataclass
class KeyBinding:
    key: str  # KeyboardEvent.key ("" for no key held)
    label: str  # what the page prints
    action: int
    meaning: str


def key_bindings(meanings: list[str] | None) -> list[dict]:
    """JSON for the page: one entry per key that maps to an action of this game."""
    if not meanings:
        return []
    bindings = [KeyBinding("", "no key", 0, meanings[0])]
    for name in KEY_MEANINGS:
        if name == "none":
            continue
        action = action_for_key(name, meanings)
        if action or meanings[0] in KEY_MEANINGS[name]:  # 0 means "unmapped" too
            bindings.append(KeyBinding(BROWSER_KEYS[name], name, action, meanings[action]))
    return [asdict(b) for b in bindings]
