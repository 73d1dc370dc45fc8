"""TokenizerModule: trains a VideoTokenizer on clip shards (Lightning).

Owns the optimisation recipe (AdamW + warm-up/cosine, gradient clipping, an optional
patch-GAN discriminator with its own optimiser) and the logging (losses, codebook usage per
quantizer / scale / depth, token stability at validation, reconstruction previews). The model
itself lives in arvideo.tokenizer and knows nothing about training.

Config arguments accept dataclasses (LightningCLI) or plain dicts (a checkpoint's
hyperparameters, as `arvideo tokenizer export` rebuilds them). A continuous tokenizer's
latent shift/scale are re-estimated on the first validation batch of every validation, so a
checkpoint always carries statistics of its own encoder.
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info

from arvideo.data.batch import VideoBatch
from arvideo.tokenizer import (
    CodebookUsage,
    DiscriminatorConfig,
    PatchDiscriminator,
    StabilityMeter,
    TokenizerConfig,
    TokenizerLoss,
    TokenizerLossConfig,
    VideoTokenizer,
)
from arvideo.training.config_args import as_config
from arvideo.training.optim import OptimizerConfig, apply_to_trainer_optimizers, build_optimizer
from arvideo.training.previews import Preview


class TokenizerModule(L.LightningModule):
    def __init__(
        self,
        tokenizer: TokenizerConfig | None = None,
        loss: TokenizerLossConfig | None = None,
        optimizer: OptimizerConfig | None = None,
        discriminator: DiscriminatorConfig | None = None,
        max_steps: int = -1,
        usage_window: int = 50,
    ) -> None:
        """
        Args:
            tokenizer: the model (conv stacks and bottleneck).
            loss: reconstruction / foreground / quantizer / GAN weights.
            optimizer: AdamW, schedule and clipping, shared by tokenizer and discriminator.
            discriminator: patch-GAN; used only when loss.gan_weight > 0.
            max_steps: length of the cosine schedule (linked from trainer.max_steps).
            usage_window: batches over which codebook usage is measured.
        """
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False  # two optimisers once the GAN is on
        tokenizer = as_config(TokenizerConfig, tokenizer, "tokenizer")
        self.tokenizer = VideoTokenizer(tokenizer or TokenizerConfig())
        self.loss_config = as_config(TokenizerLossConfig, loss, "loss") or TokenizerLossConfig()
        self.optimizer_config = as_config(OptimizerConfig, optimizer, "optimizer")
        self.optimizer_config = self.optimizer_config or OptimizerConfig()
        critic = None
        if self.loss_config.gan_weight > 0:
            discriminator = as_config(DiscriminatorConfig, discriminator, "discriminator")
            critic = PatchDiscriminator(discriminator or DiscriminatorConfig())
        self.loss = TokenizerLoss(self.loss_config, critic)
        self.max_steps = max_steps
        self.usage = None
        if not self.tokenizer.is_continuous:
            self.usage = CodebookUsage(
                self.tokenizer.vocab_size,
                usage_window,
                self.tokenizer.code_depth,
                self.tokenizer.scales,
            )

    def configure_optimizers(self):
        optimizer, schedule = build_optimizer(self.tokenizer, self.optimizer_config, self.max_steps)
        optimizers, schedules = [optimizer], [schedule]
        if self.loss.discriminator is not None:
            critic, critic_schedule = build_optimizer(
                self.loss.discriminator, self.optimizer_config, self.max_steps
            )
            optimizers.append(critic)
            schedules.append(critic_schedule)
        return optimizers, schedules

    def on_train_start(self) -> None:  # after a resume has restored the optimizer state
        apply_to_trainer_optimizers(self, self.optimizer_config)

    def setup(self, stage: str) -> None:
        """loss.weights == "data": the loss weights from the data set's pixel statistics
        (measured once, stored beside the data set), printed."""
        if self.loss_config.weights != "data":
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        path = getattr(datamodule, "path", None)
        if path is None:
            raise ValueError(
                "loss.weights='data' derives the loss weights from the data set's statistics; "
                "it needs a data module with a `path` (VideoDataModule), or use weights='fixed'"
            )
        from arvideo.data.frame_statistics import dataset_statistics, derived_weights

        stats = dataset_statistics(path, datamodule.num_frames, self.loss_config)
        weights = derived_weights(stats, self.loss_config)
        for name in ("foreground_weight", "motion_weight", "error_weight"):
            setattr(self.loss_config, name, getattr(weights, name))
        rank_zero_info(weights.report(stats))

    def _optimize(self, loss: torch.Tensor, index: int) -> None:
        optimizer = self.optimizers(use_pl_optimizer=True)
        optimizer = optimizer[index] if isinstance(optimizer, list) else optimizer
        schedule = self.lr_schedulers()
        schedule = schedule[index] if isinstance(schedule, list) else schedule
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.optimizer_config.grad_clip > 0:
            self.clip_gradients(optimizer, self.optimizer_config.grad_clip, "norm")
        optimizer.step()
        schedule.step()

    def training_step(self, batch: VideoBatch, batch_idx: int) -> torch.Tensor:
        step = self.global_step // (2 if self.loss.discriminator is not None else 1)
        reconstruction = self.tokenizer(batch.video)
        output = self.loss.generator_loss(
            batch.video, reconstruction, step, self.tokenizer.decoder.last_layer_weight
        )
        self._optimize(output.loss, 0)
        if self.loss.discriminator is not None:
            critic = self.loss.discriminator_loss(batch.video, reconstruction.video, step)
            self._optimize(critic.loss, 1)
            self._log_metrics("train/critic", critic.metrics, len(batch))
        self._track_usage(reconstruction.encoded.codes)
        self.log("train/loss", output.loss.detach(), prog_bar=True, batch_size=len(batch))
        self._log_metrics("train", output.metrics, len(batch))
        return output.loss.detach()

    def validation_step(self, batch: VideoBatch, batch_idx: int) -> torch.Tensor:
        if self.tokenizer.is_continuous and batch_idx == 0 and not self.trainer.sanity_checking:
            # the latent shift/scale handed to generators follow the model as it trains; they
            # only normalise what encode() returns (decoding undoes them), so the loss is blind
            self.tokenizer.set_latent_statistics(batch.video)
        reconstruction = self.tokenizer(batch.video)
        output = self.loss.generator_loss(batch.video, reconstruction, step=0)
        self.log("val/loss", output.loss, prog_bar=True, batch_size=len(batch))
        self._log_metrics("val", output.metrics, len(batch))
        mse = (reconstruction.video.clamp(-1, 1) - batch.video).pow(2).mean()
        self.log("val/psnr", 10 * torch.log10(4.0 / mse.clamp_min(1e-10)), batch_size=len(batch))
        self._log_stability(batch, reconstruction.encoded)
        return output.loss

    def _log_stability(self, batch: VideoBatch, encoded) -> None:
        """Still cells keeping their code, and codes per identical patch, on this batch."""
        meter = StabilityMeter.of(self.tokenizer)
        latents = encoded.latents if encoded.codes is None else None
        meter.update(batch.video, encoded.codes, latents)
        result = meter.result()
        if result.unchanged_cells:
            self.log("val/stable_kept", result.kept, batch_size=len(batch))
        self.log("val/codes_per_patch", result.codes_per_patch, batch_size=len(batch))

    def test_step(self, batch: VideoBatch, batch_idx: int) -> torch.Tensor:
        return self.validation_step(batch, batch_idx)

    def predict_step(self, batch: VideoBatch, batch_idx: int):
        return self.tokenizer.encode(batch.video)

    def preview(self, batch: VideoBatch) -> Preview:
        return Preview(batch.video, self.tokenizer(batch.video).video.clamp(-1, 1))

    def _track_usage(self, codes: torch.Tensor | None) -> None:
        if self.usage is None or codes is None:
            return
        self.usage.update(codes)
        if self.global_step % 10 == 0:
            self.log_dict({f"train/{k}": v for k, v in self.usage.metrics().items()})

    def _log_metrics(self, prefix: str, metrics: dict, batch_size: int) -> None:
        self.log_dict({f"{prefix}/{k}": v for k, v in metrics.items()}, batch_size=batch_size)
