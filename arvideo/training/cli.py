"""`arvideo fit|validate|test|predict --config ...`: LightningCLI with arvideo's defaults.

Model and data module are chosen by `class_path` in the YAML (configs/). Defaults a user
expects: an integer seed, a rich progress bar, CSV + TensorBoard loggers under runs/, bf16
autocast on CUDA and fp32 on CPU, the config saved next to the logs (overwritten on rerun).

Resuming with `--ckpt_path`: Lightning would replace the parsed model arguments with the
checkpoint's hyperparameters, silently dropping values given on the command line. Here the
checkpoint's hyperparameters become *defaults*: everything written in the command line or in a
`--config` file still wins, and the optimizer runs those values (optim.py
`apply_optimizer_config`), so what is logged is what runs. `--ckpt_path last` is the newest
last checkpoint of the runs under trainer.default_root_dir (resume.py); none is an error. The
checkpoint's class paths are checked against arvideo's own before anything is imported.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from arvideo.training.module_classes import check_class_paths, module_class
from arvideo.training.previews import PreviewCallback
from arvideo.training.resume import LAST, find_last_checkpoint


class ArvideoCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        # The learning-rate schedule needs the run length: written once, in trainer.max_steps.
        parser.link_arguments("trainer.max_steps", "model.init_args.max_steps")
        # The generator's sizes come from the data it trains on (a link whose target the
        # chosen model lacks, e.g. the tokenizer's, is skipped by jsonargparse).
        parser.link_arguments("data.init_args.path", "model.init_args.dataset")
        parser.link_arguments("data.init_args.num_frames", "model.init_args.num_frames")

    def instantiate_trainer(self, **kwargs) -> Trainer:
        trainer_config = self._get(self.config_init, "trainer", default={})
        if trainer_config.get("enable_progress_bar", True) is not False:
            # kwargs replace the config's values: keep the callbacks the user listed
            listed = trainer_config.get("callbacks") or []
            listed = listed if isinstance(listed, list) else [listed]
            kwargs["callbacks"] = [*listed, *kwargs.get("callbacks", []), RichProgressBar()]
        if trainer_config.get("logger") in (None, True):  # the default: CSV and TensorBoard
            root = trainer_config.get("default_root_dir") or "runs"
            tensorboard = TensorBoardLogger(root)
            kwargs["logger"] = [CSVLogger(root, version=tensorboard.version), tensorboard]
        return super().instantiate_trainer(**kwargs)

    def parse_arguments(self, parser, args) -> None:
        self._raw_args = args  # kept to parse again once checkpoint defaults are known
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        subcommand = self.config.get("subcommand")
        if not subcommand:
            return
        ckpt_path = self.config[subcommand].get("ckpt_path")
        if ckpt_path == LAST:
            root = self.config[subcommand].get("trainer", {}).get("default_root_dir") or "runs"
            ckpt_path = str(find_last_checkpoint(root))
            self.config[subcommand]["ckpt_path"] = ckpt_path
        if not ckpt_path or not Path(ckpt_path).is_file():
            return
        checkpoint = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        hparams = dict(checkpoint.get("hyper_parameters", {}))
        hparams.pop("_instantiator", None)
        class_path = hparams.pop("_class_path", None)
        if not hparams or class_path is None:
            return
        module_class(class_path, L.LightningModule, ckpt_path)  # refused before any import
        check_class_paths(hparams, ckpt_path)
        chosen = self.config[subcommand].get("model")
        if chosen is not None and chosen.get("class_path") not in (None, class_path):
            raise ValueError(
                f"--ckpt_path {ckpt_path} holds a {class_path}, but the config asks for "
                f"{chosen.get('class_path')}"
            )
        # Checkpoint values fill only what the command line and config files left unset.
        subparser = self.parser._subcommands_action._name_parser_map[subcommand]
        subparser.set_defaults({"model": {"class_path": class_path, "init_args": hparams}})
        self.config = self.parser.parse_args(self._raw_args)
        self.config[subcommand]["ckpt_path"] = ckpt_path  # "last", resolved


def trainer_defaults() -> dict:
    cuda = torch.cuda.is_available()
    return {
        "precision": "bf16-mixed" if cuda else "32-true",
        "default_root_dir": "runs",
        # persistent callbacks: always present, whatever the config lists
        "callbacks": [PreviewCallback(), ModelCheckpoint(save_last=True)],
    }


def run_lightning_cli(argv: list[str]) -> ArvideoCLI:
    """The trainer CLI on `argv` alone. Called from another command (`arvideo demo`), whose
    own sys.argv Lightning would warn about although it reads only `args`."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter.*")
        return ArvideoCLI(
            args=argv,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            trainer_defaults=trainer_defaults(),
        )
