"""`arvideo export CKPT OUT_DIR`: a GeneratorModule checkpoint -> a model folder.

The folder (layout in arvideo/model_folder.py) holds the frozen tokenizer the generator was
trained with, the VideoLM (its EMA weights when the run kept them) and what generation needs
to know about the frames (size, fps, trained clip length, the game's action meanings), so
`VideoGenerator.from_pretrained(OUT_DIR)` works without the data set or Lightning. When the
token data set's pixel source is on disk, the first frames of its first val clip go along as
MODEL/sample/ (arvideo/sample_clip.py): the clip `arvideo serve` and `arvideo play` start from.
"""

from __future__ import annotations

from pathlib import Path

from arvideo.data.clips import read_manifest
from arvideo.model_folder import ModelInfo, save_model_folder
from arvideo.sample_clip import sample_from_data
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.export import load_module
from arvideo.training.generator_module import GeneratorModule

ATARI_HZ = 60.0  # ALE steps the emulator at 60 frames per second


def model_info(module: GeneratorModule) -> ModelInfo:
    """Frame size, playback rate, trained length and actions, from the token data set."""
    manifest = read_manifest(module.hparams.dataset) or {}
    config = manifest.get("config", {})
    source = read_manifest(manifest["source_data"]) if "source_data" in manifest else None
    frame_skip = (source or {}).get("config", config).get("frame_skip")
    fps = manifest.get("fps") or (ATARI_HZ / frame_skip if frame_skip else 15.0)
    latent_frames = module.model.config.grid[0]
    temporal = int(manifest.get("temporal_compression", 1))
    return ModelInfo(
        frame_size=tuple(manifest["size"]),
        fps=float(fps),
        context_frames=1 + temporal * module.preview_context_frames - temporal,
        clip_frames=1 + (latent_frames - 1) * temporal,
        game=manifest.get("game"),
        action_meanings=module.info.action_meanings,
    )


def export_generator(checkpoint: str, out: str, overwrite: bool = False) -> str:
    """Export a trained generator (and its tokenizer) as a `from_pretrained` model folder.

    Args:
        checkpoint: a GeneratorModule .ckpt, or a run folder (its checkpoints/last.ckpt).
        out: the model folder to write.
        overwrite: replace the files of a non-empty folder.
    """
    module = load_module(checkpoint, GeneratorModule)
    if module.ema is not None:  # sample with the averaged weights
        module.ema.copy_into(module.model)
    tokenizer = VideoTokenizer.from_pretrained(module.info.tokenizer_dir)
    info = model_info(module)
    path = save_model_folder(out, tokenizer, module.model, info, overwrite)
    source = (read_manifest(module.hparams.dataset) or {}).get("source_data")
    if source and Path(source, "dataset.json").is_file():  # a moved data set: no sample
        sample_from_data(path, source, info.clip_frames)
    return str(Path(path).resolve())
