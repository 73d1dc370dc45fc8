"""GeneratorModule: trains a VideoLM on token shards written by `arvideo encode` (Lightning),
or on tokens held in memory (the benchmarks), with the same recipe.

Everything the LM's size depends on comes from the token data set, never from the YAML:
its manifest (dataset.json), or a `TokenDatasetInfo` built in memory, names the frozen
tokenizer folder (vocabulary, code depth,
latent size, scales) and the action space; the clip length gives the latent grid. A YAML
that still sets one of those numbers must agree with the data, or it is refused.

Owns the optimisation recipe (AdamW + warm-up/cosine, gradient clipping, optional EMA
weights) and the logging (loss, per-token accuracy, tokens/s, rollout previews decoded by the
tokenizer). The model itself lives in arvideo.lm and knows nothing about training.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import lightning as L
import torch

from arvideo.bridge import code_pixels, lm_fields
from arvideo.data.batch import TokenBatch
from arvideo.data.clips import read_manifest
from arvideo.lm.conditioning import Conditions
from arvideo.lm.model import VideoLM, VideoLMConfig
from arvideo.tokenizer import VideoTokenizer
from arvideo.tokenizer.config import TokenizerConfig
from arvideo.tokenizer.fingerprint import check_fingerprint
from arvideo.training.config_args import as_config
from arvideo.training.ema import ParameterEMA
from arvideo.training.optim import OptimizerConfig, ScheduledAdamW
from arvideo.training.previews import Preview

# VideoLMConfig fields that the token data set decides
DERIVED_FIELDS = ("vocab_size", "code_depth", "latent_dim", "grid", "num_actions", "code_pixel_dim")


@dataclass
class TokenDatasetInfo:
    """What a token data set tells the LM: read from dataset.json and the tokenizer folder."""

    tokenizer_dir: str
    tokenizer: TokenizerConfig
    kind: str  # "codes" or "latents"
    latent_frames: int  # per clip
    latent_hw: tuple[int, int]
    num_actions: int  # 0 when the data has no actions
    action_meanings: list[str] | None

    @classmethod
    def of(cls, dataset: str | Path | TokenDatasetInfo) -> TokenDatasetInfo:
        """`dataset` itself when it is already in memory, else read from its folder."""
        return dataset if isinstance(dataset, TokenDatasetInfo) else cls.read(dataset)

    @classmethod
    def read(cls, dataset: str | Path) -> TokenDatasetInfo:
        manifest = read_manifest(dataset)
        if manifest is None:
            raise FileNotFoundError(f"dataset={dataset}: no dataset.json (run `arvideo encode`)")
        if "tokenizer" not in manifest:
            raise ValueError(f"dataset={dataset} holds clips, not tokens: run `arvideo encode`")
        tokenizer_dir = Path(manifest["tokenizer"])
        if not tokenizer_dir.is_absolute():
            tokenizer_dir = Path(dataset) / tokenizer_dir
        if "tokenizer_sha256" in manifest:  # token sets older than the hash cannot be checked
            check_fingerprint(tokenizer_dir, manifest["tokenizer_sha256"], dataset)
        config = TokenizerConfig.from_dict(
            _read_json(tokenizer_dir / "config.json", "tokenizer config")
        )
        actions = manifest.get("action_space") or {}
        grid = manifest["latent_grid"]
        return cls(
            tokenizer_dir=str(tokenizer_dir),
            tokenizer=config,
            kind=manifest["kind"],
            latent_frames=int(grid["frames"]),
            latent_hw=(int(grid["height"]), int(grid["width"])),
            num_actions=int(actions.get("n", 0)),
            action_meanings=actions.get("meanings"),
        )


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return json.loads(path.read_text())


def lm_config_for(
    dataset: str | Path | TokenDatasetInfo, lm: VideoLMConfig, num_frames: int | None = None
) -> VideoLMConfig:
    """`lm` with the data-derived fields filled in; a conflicting explicit value raises.

    num_frames: latent frames per training clip when the data module crops (else the data
    set's clip length)."""
    info = TokenDatasetInfo.of(dataset)
    wanted = lm.values
    if info.kind != wanted:
        raise ValueError(
            f"lm.head={lm.head!r} trains on {wanted}, but dataset={dataset} holds {info.kind} "
            f"(encode it with a {'quantized' if wanted == 'codes' else 'continuous'} tokenizer)"
        )
    grid = (info.latent_frames if num_frames is None else num_frames, *info.latent_hw)
    tokenizer = VideoTokenizer(info.tokenizer)  # cheap: only to ask its constants
    derived = lm_fields(tokenizer, info.kind, grid, lm.order, lm.order_options, lm.code_pixels)
    derived["num_actions"] = info.num_actions
    defaults = {f.name: f.default for f in fields(VideoLMConfig)}
    for name in DERIVED_FIELDS:
        given = getattr(lm, name)
        default = tuple(defaults[name]) if name == "grid" else defaults[name]
        given = tuple(given) if name == "grid" else given
        if given != default and given != derived[name]:
            raise ValueError(
                f"lm.{name}={given} disagrees with the data set ({derived[name]}); "
                f"leave it out: it is read from {dataset}"
            )
    return replace(lm, **derived)


class GeneratorModule(ScheduledAdamW, L.LightningModule):
    def __init__(
        self,
        dataset: str | TokenDatasetInfo,
        lm: VideoLMConfig | None = None,
        num_frames: int | None = None,
        optimizer: OptimizerConfig | None = None,
        max_steps: int = -1,
        ema_decay: float | None = None,
        preview_context_frames: int = 1,
        seed: int = 0,
        compile_backbone: bool = False,
    ) -> None:
        """
        Args:
            dataset: token data set folder (from `arvideo encode`), linked from the data
                module's path; vocabulary, grid and action space are read from it. Or a
                `TokenDatasetInfo` describing tokens held in memory (the data module is the
                caller's).
            lm: the VideoLM: order, head, backbone size, conditioning options.
            num_frames: latent frames per training clip, linked from the data module's crop
                (None = the data set's clip length).
            optimizer: AdamW, schedule and gradient clipping.
            max_steps: length of the cosine schedule (linked from trainer.max_steps).
            ema_decay: keep an exponential moving average of the weights (None = off), its
                decay warmed up as min(ema_decay, (1 + n) / (10 + n)) after n steps; the
                EMA weights are used for validation, previews and export.
            preview_context_frames: known frames before the rollout shown at validation.
            seed: seed of preview sampling.
            compile_backbone: `torch.compile` the backbone's blocks for training and
                validation (Transformer.compile_blocks): faster steps after ~15 s of
                compiling per batch shape; the same weights and numbers up to float
                rounding.
        """
        super().__init__()
        self.save_hyperparameters(ignore=None if isinstance(dataset, str) else ["dataset"])
        self.info = TokenDatasetInfo.of(dataset)
        lm = as_config(VideoLMConfig, lm, "lm")
        optimizer = as_config(OptimizerConfig, optimizer, "optimizer")
        self.model = VideoLM(lm_config_for(self.info, lm or VideoLMConfig(), num_frames))
        if self.uses_scale_codes:  # the order's frozen copy of the tokenizer's arithmetic
            self.model.order.load_tokenizer(VideoTokenizer.from_pretrained(self.info.tokenizer_dir))
        if self.model.config.code_pixels:  # a checkpoint's weights, loaded later, keep theirs
            tokenizer = VideoTokenizer.from_pretrained(self.info.tokenizer_dir).eval()
            self.model.embed.set_pixels(code_pixels(tokenizer, self.info.latent_hw))
        self.optimizer_config = optimizer or OptimizerConfig()
        self.max_steps = max_steps
        self.ema = None if ema_decay is None else ParameterEMA(self.model, ema_decay)
        if compile_backbone:
            self.model.backbone.compile_blocks()
        self.preview_context_frames = preview_context_frames
        self.seed = seed
        self._tokenizer: list[VideoTokenizer] = []  # frozen, loaded on first preview
        self._last_step_time: float | None = None

    @property
    def uses_scale_codes(self) -> bool:
        return self.model.order.needs_tokenizer_scales(self.model.config.values)

    def prepare(self, batch: TokenBatch) -> TokenBatch:
        """Next-scale on continuous latents trains on residual pyramids B×T×L×C."""
        if batch.latents is None:
            return batch
        return replace(batch, latents=self.model.from_tokenizer_values(batch.latents))

    # -- EMA weights -----------------------------------------------------------------------

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    # -- steps ------------------------------------------------------------------------------

    def training_step(self, batch: TokenBatch, batch_idx: int) -> torch.Tensor:
        output = self.model.loss(self.prepare(batch))
        self._log("train", output.loss, output.metrics, len(batch))
        self._log_throughput(output.metrics.get("tokens"))
        return output.loss

    def validation_step(self, batch: TokenBatch, batch_idx: int) -> torch.Tensor:
        with self._eval_weights():
            output = self.model.loss(self.prepare(batch))
        self._log("val", output.loss, output.metrics, len(batch))
        return output.loss

    def test_step(self, batch: TokenBatch, batch_idx: int) -> torch.Tensor:
        return self.validation_step(batch, batch_idx)

    def _log(self, split: str, loss: torch.Tensor, metrics: dict, batch_size: int) -> None:
        self.log(f"{split}/loss", loss.detach(), prog_bar=True, batch_size=batch_size)
        shown = {f"{split}/{k}": v for k, v in metrics.items() if k != "tokens"}
        self.log_dict(shown, batch_size=batch_size)

    def _log_throughput(self, tokens: torch.Tensor | None) -> None:
        now = time.perf_counter()
        if self._last_step_time is not None and tokens is not None:
            elapsed = now - self._last_step_time
            self.log("train/tokens_per_s", float(tokens) / max(elapsed, 1e-9))
        self._last_step_time = now

    def _eval_weights(self):
        if self.ema is None:
            return contextlib.nullcontext(self.model)
        return self.ema.swapped_into(self.model)

    # -- previews ---------------------------------------------------------------------------

    def tokenizer(self) -> VideoTokenizer:
        if not self._tokenizer:
            tokenizer = VideoTokenizer.from_pretrained(self.info.tokenizer_dir)
            self._tokenizer.append(tokenizer.to(self.device).eval().requires_grad_(False))
        return self._tokenizer[0]

    def preview(self, batch: TokenBatch) -> Preview:
        """Roll out from the first frames with the true actions; decode truth and rollout."""
        values = self.prepare(batch)
        values = (values.codes if values.codes is not None else values.latents)[:4]
        context = values[:, : self.preview_context_frames]
        actions = None if batch.actions is None else batch.actions[:4]
        generator = torch.Generator(device=values.device).manual_seed(self.seed)
        with self._eval_weights():
            rollout = self.model.generate(
                context, Conditions(actions_BT=actions), values.shape[1], generator=generator
            )
        return Preview(self.decode(values), self.decode(rollout.values))

    def decode(self, values: torch.Tensor) -> torch.Tensor:
        """Codes B×T×... or latents B×T×H×W×C -> video B×C×T×H×W in [-1, 1]."""
        tokenizer = self.tokenizer()
        values = self.model.to_tokenizer_values(values)
        if self.info.kind == "codes":
            return tokenizer.decode_codes(values).clamp(-1, 1)
        return tokenizer.decode(values.permute(0, 4, 1, 2, 3).float()).clamp(-1, 1)
