"""The tokenizer's cell size, chosen per data set from its patch census, with no game named.

A cell tokenizer writes each cell with one code. When a game draws many more distinct
cell-sized patches than the codebook has codes, rare sprites share codes and blur, and a
larger codebook does not fix it. Measured on four games at the main job's budget
(43,200 frames, VQ-1024, 4,000 steps; benchmarks/results/loss_weights.md):

    game           distinct 8x8 patches   per code   fg PSNR, 8x8 cells   4x4 cells
    Breakout        2,729                   2.7       32.58
    Pong            3,405                   3.3       34.10
    SpaceInvaders  38,376                  37.5       29.79 (VQ-4096: 29.95)  34.45
    MsPacman       59,766                  58.4       21.75

So the rule: above `PATCHES_PER_CODE_LIMIT` distinct patches per code, halve the cell side
(4x the tokens a frame, 4x the generator's sequence). The limit sits between the games that
reconstruct and those that do not, a factor ~3 from each.
"""

from __future__ import annotations

from dataclasses import dataclass

from arvideo.data.patch_census import PatchCensus

PATCHES_PER_CODE_LIMIT = 10.0
CHOICES = ("auto", "8", "4")  # the main job's --capacity: the rule, or a cell side forced


@dataclass
class CapacityChoice:
    cell: int  # pixels per side of a token's cell (the tokenizer's spatial compression)
    census: PatchCensus  # of cells of the base config's size
    codebook_size: int
    limit: float  # distinct patches per code above which the cell side is halved
    forced: bool  # chosen by the caller, not by the rule

    @property
    def patches_per_code(self) -> float:
        return self.census.distinct_patches / self.codebook_size

    def report(self) -> str:
        counted = (
            f"{self.census.distinct_patches:,} distinct {self.census.cell}x{self.census.cell} "
            f"patches in {self.census.frames:,} training frames = "
            f"{self.patches_per_code:.1f} per code of {self.codebook_size:,}"
        )
        if self.forced:
            return f"tokenizer cells {self.cell}x{self.cell} (forced); {counted}"
        side = "above" if self.cell < self.census.cell else "within"
        return (
            f"tokenizer cells {self.cell}x{self.cell}: {counted}, {side} the limit of "
            f"{self.limit:g}"
        )


def check_capacity(capacity: str) -> None:
    if capacity not in CHOICES:
        raise ValueError(f"capacity={capacity!r} must be one of {', '.join(CHOICES)}")


def choose_capacity(
    census: PatchCensus,
    codebook_size: int,
    capacity: str = "auto",
    limit: float = PATCHES_PER_CODE_LIMIT,
) -> CapacityChoice:
    """The cell side for this data set: `census.cell`, or half of it when the census holds
    more than `limit` distinct patches per code ("8"/"4" force a side)."""
    check_capacity(capacity)
    if codebook_size < 1:
        raise ValueError(f"codebook_size={codebook_size} must be >= 1")
    if capacity != "auto":
        return CapacityChoice(int(capacity), census, codebook_size, limit, forced=True)
    crowded = census.distinct_patches / codebook_size > limit
    cell = census.cell // 2 if crowded else census.cell
    return CapacityChoice(cell, census, codebook_size, limit, forced=False)


def cell_overrides(tokenizer_config: dict, cell: int) -> list[str]:
    """Trainer-CLI overrides that make the YAML's cell tokenizer code `cell`-pixel cells:
    its spatial compression, and its widths cut to the stages left below the patch stem
    (each stage after the first halves the grid)."""
    patch = int(tokenizer_config.get("patch_size", 1))
    widths = list(tokenizer_config["widths"])
    if tokenizer_config["spatial_compression"] == cell:
        return []
    stages = (cell // patch).bit_length()  # 4/4 -> 1 stage, 8/4 -> 2
    if cell % patch or cell // patch != 1 << (stages - 1) or stages > len(widths):
        raise ValueError(
            f"a {cell}x{cell} cell needs a power-of-two multiple of patch_size {patch} "
            f"with at most {len(widths)} stages (widths {widths})"
        )
    prefix = "--model.init_args.tokenizer."
    return [
        f"{prefix}spatial_compression", str(cell),
        f"{prefix}widths", str(widths[len(widths) - stages :]),
    ]  # fmt: skip


def generator_overrides(cell: int) -> list[str]:
    """Trainer-CLI overrides of the main job's generator YAML for tokens of `cell`-pixel
    cells. 8x8 cells: none. 4x4 cells (256 tokens a frame): 4-frame clips (1,024 tokens, where
    8 frames would make 2,048 and 4x the attention) for half the steps, so the generator sees
    as many tokens as the 8x8 recipe (1,200 x 8 x 4 x 256 = 2,400 x 8 x 8 x 64)."""
    if cell >= 8:
        return []
    return ["--data.init_args.num_frames", "4", "--trainer.max_steps", "1200"]
