"""Which Atari games exist: ale-py's ROM list, and a user's game name resolved against it.

The ROM ids (``space_invaders``) are turned into ale-py's environment names
(``SpaceInvaders``) by ale-py's own rule, and kept only when ``ALE/<Name>-v5`` is registered
(a few ROMs, e.g. Combat, are two-player only and have no v5 environment). Knows names only;
the emulator is atari.py.
"""

from __future__ import annotations

import difflib
import functools


class UnknownGameError(ValueError):
    """A game name that no ale-py environment has; the message lists close matches."""


@functools.cache
def atari_games() -> tuple[str, ...]:
    """Names accepted by ``ALE/<name>-v5``, sorted (Pong, Breakout, SpaceInvaders, ...)."""
    import ale_py
    import gymnasium as gym
    from ale_py.registration import rom_id_to_name

    gym.register_envs(ale_py)
    names = {rom_id_to_name(rom) for rom in ale_py.roms.get_all_rom_ids()}
    return tuple(sorted(name for name in names if f"ALE/{name}-v5" in gym.registry))


def _folded(name: str) -> str:
    """Case, spaces, dashes and underscores ignored: 'space_invaders' -> 'spaceinvaders'."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_game(name: str) -> str:
    """The ale-py spelling of `name` ('pong' -> 'Pong'); UnknownGameError when none fits."""
    games = atari_games()
    by_folded = {_folded(game): game for game in games}
    if _folded(name) in by_folded:
        return by_folded[_folded(name)]
    close = difflib.get_close_matches(_folded(name), list(by_folded), n=5, cutoff=0.6)
    hint = (
        f"close matches: {', '.join(by_folded[c] for c in close)}"
        if close
        else f"no close match; {len(games)} games, e.g. {', '.join(games[:6])}"
    )
    raise UnknownGameError(f"game={name!r} is not an ale-py game; {hint}")
