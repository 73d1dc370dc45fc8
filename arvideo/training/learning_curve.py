"""A learning curve of a world model while it trains: the rollout scored every few steps.

`LearningCurve` is a Lightning callback for `GeneratorModule` runs (add it to any `arvideo fit`
of a generator, or let `arvideo bench learning` do it). Every `every_steps` optimizer steps,
and once at the end, it scores the current model (its EMA weights when the run keeps them)
as `arvideo demo` scores the exported one: rollouts from held-out windows of the clip data set
with the true actions, against copying the last frame (`rollout_score.py`), per horizon step,
plus the token loss on a few validation batches. Each point is appended to a JSON-lines file
as soon as it is measured, so a killed run keeps what it measured. Training time excludes the
evaluations. With `checkpoint`, a resumable checkpoint (`resume.ckpt` beside the file) is
written after each point, and the callback's counters travel in it, so a resumed run's curve
goes on where the points stopped.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import lightning as L
import torch

from arvideo.data.clips import read_manifest


@dataclass
class CurvePoint:
    step: int
    tokens_seen: int  # predicted positions so far (batch × clip tokens, summed)
    train_s: float  # seconds of training (evaluations excluded)
    val_loss: float  # token loss on `val_batches` batches of the token set's val split
    model: dict  # RolloutScore as a dict (per-step lists included)
    copy_last: dict


class LearningCurve(L.Callback):
    def __init__(
        self,
        out: str,
        every_steps: int = 250,
        clips: str | None = None,
        windows: int = 32,
        context: int = 4,
        horizon: int = 8,
        val_batches: int = 4,
        seed: int = 0,
        temperature: float = 1.0,
        top_k: int | None = 1,
        save_models: bool = False,
        checkpoint: bool = False,
    ) -> None:
        """
        Args:
            out: JSON-lines file the points are appended to (its folder is created).
            every_steps: optimizer steps between points (>= 1).
            clips: the clip data set the windows come from (None = the token set's source).
            windows, context, horizon: held-out windows, their real frames, generated frames.
            val_batches: batches of the validation split for the token loss.
            seed, temperature, top_k: sampling of the rollouts (greedy by default, as the
                main job).
            save_models: also write each point's model, as scored (EMA weights where the
                run keeps them), as a model folder `models/step_NNNNNN` beside `out`, for
                diagnostics along the curve (`arvideo generate`, the experiment scripts).
            checkpoint: after each point, write the whole training state to
                `resume.ckpt` beside `out` (replaced atomically), for `--ckpt_path`.
        """
        if every_steps < 1:
            raise ValueError(f"every_steps={every_steps} must be >= 1")
        self.out, self.every_steps, self.clips = Path(out), every_steps, clips
        self.windows, self.context, self.horizon = windows, context, horizon
        self.val_batches, self.seed = val_batches, seed
        self.sampling = {"temperature": temperature, "top_k": top_k}
        self.save_models, self.checkpoint = save_models, checkpoint
        self._tokens, self._train_s, self._last = 0, 0.0, None
        self._background: torch.Tensor | None = None
        self._scored_step = -1

    # -- timing and counting (saved with a checkpoint, so a resumed curve goes on) -------------

    def state_dict(self) -> dict:
        return {"tokens": self._tokens, "train_s": self._train_s, "scored_step": self._scored_step}

    def load_state_dict(self, state_dict: dict) -> None:
        self._tokens, self._train_s = state_dict["tokens"], state_dict["train_s"]
        self._scored_step = state_dict["scored_step"]

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._last = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._train_s += time.perf_counter() - self._last
        self._tokens += len(batch) * math.prod(pl_module.model.config.grid)
        if trainer.global_step % self.every_steps == 0:
            self.measure(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        self.measure(trainer, pl_module)

    # -- one point -----------------------------------------------------------------------------

    def measure(self, trainer, pl_module) -> CurvePoint | None:
        if trainer.global_step == self._scored_step or not trainer.is_global_zero:
            return None
        self._scored_step = trainer.global_step
        was_training = pl_module.training
        pl_module.eval()
        try:
            with torch.no_grad(), pl_module._eval_weights():
                generator = self._generator(pl_module)
                score = self._score(generator, pl_module)
                loss = self._val_loss(trainer, pl_module)
                if self.save_models:
                    self._save(generator, trainer.global_step)
        finally:
            pl_module.train(was_training)
        point = CurvePoint(
            step=trainer.global_step,
            tokens_seen=self._tokens,
            train_s=round(self._train_s, 1),
            val_loss=loss,
            model=asdict(score.model),
            copy_last=asdict(score.copy_last),
        )
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.out.open("a") as handle:
            handle.write(json.dumps(asdict(point)) + "\n")
        if self.checkpoint:
            self._save_checkpoint(trainer)
        return point

    def _save_checkpoint(self, trainer) -> None:
        """The training state as of this point; a kill while writing leaves the last one."""
        path = resume_checkpoint(self.out)
        partial = path.with_name(path.name + ".partial")
        trainer.save_checkpoint(partial)
        os.replace(partial, path)

    @staticmethod
    def _generator(pl_module):
        from arvideo.generate import VideoGenerator
        from arvideo.training.generator_export import model_info

        return VideoGenerator(pl_module.tokenizer(), pl_module.model, model_info(pl_module))

    def _save(self, generator, step: int) -> Path:
        from arvideo.model_folder import save_model_folder

        path = self.out.parent / "models" / f"step_{step:06d}"
        return save_model_folder(path, generator.tokenizer, generator.lm, generator.info,
                                 overwrite=True)  # fmt: skip

    def _score(self, generator, pl_module):
        from arvideo.rollout_score import score_world_model, training_background

        clips = self.clips or read_manifest(pl_module.hparams.dataset)["source_data"]
        if self._background is None:
            self._background = training_background(clips)
        return score_world_model(
            generator, clips, self.context, self.horizon, windows=self.windows,
            seed=self.seed, background_CHW=self._background, **self.sampling,
        )  # fmt: skip

    def _val_loss(self, trainer, pl_module) -> float:
        if trainer.datamodule is None or self.val_batches < 1:
            return math.nan
        losses = []
        for index, batch in enumerate(trainer.datamodule.val_dataloader()):
            if index >= self.val_batches:
                break
            batch = batch.to(pl_module.device) if hasattr(batch, "to") else batch
            losses.append(float(pl_module.model.loss(pl_module.prepare(batch)).loss))
        return sum(losses) / len(losses) if losses else math.nan


def resume_checkpoint(curve_file: str | Path) -> Path:
    """Where a `checkpoint=True` curve writes its training state."""
    return Path(curve_file).parent / "resume.ckpt"


def read_curve(path: str | Path) -> list[dict]:
    """The points of a curve file, in order (a missing file has none)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
