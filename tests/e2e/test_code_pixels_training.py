"""`lm.code_pixels` end to end on real Pong tokens: the trainer reads each code's decoded
patch from the tokenizer, trains on it, and the exported model keeps it."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch

from arvideo import VideoGenerator
from arvideo.bridge import code_pixels
from arvideo.data.datamodule import TokenDataModule
from arvideo.lm.model import VideoLMConfig
from arvideo.tokenizer import VideoTokenizer
from arvideo.training.generator_export import export_generator
from arvideo.training.generator_module import GeneratorModule, lm_config_for


def test_code_pixels_are_each_codes_decoded_patch(pong_tokens):
    module = GeneratorModule(
        str(pong_tokens), VideoLMConfig(width=32, depth=1, heads=2, code_pixels=True), 4
    )
    tokenizer = VideoTokenizer.from_pretrained(module.info.tokenizer_dir).eval()
    cell = tokenizer.config.spatial_compression
    assert module.model.config.code_pixel_dim == 3 * cell * cell
    pixels = module.model.embed.pixels_KP
    assert pixels.shape == (tokenizer.vocab_size, 3 * cell * cell)
    # code 7 everywhere: the centre cell of the decoded frame is its row
    H, W = module.info.latent_hw
    with torch.no_grad():
        frame = tokenizer.decode_codes(torch.full((1, 1, H, W), 7)).clamp(-1, 1)[0, :, 0]
    centre = frame[:, H // 2 * cell : (H // 2 + 1) * cell, W // 2 * cell : (W // 2 + 1) * cell]
    assert torch.allclose(
        pixels[7], centre.reshape(-1), atol=1e-4
    )  # batched convs round differently
    assert len(torch.unique(pixels, dim=0)) > tokenizer.vocab_size // 2  # codes look different
    assert torch.allclose(pixels, code_pixels(tokenizer, (H, W), batch=5), atol=1e-4)
    plain = lm_config_for(pong_tokens, VideoLMConfig(width=32, depth=1, heads=2), 4)
    assert plain.code_pixel_dim == 0


def test_code_pixel_model_trains_exports_and_generates(pong_tokens, quiet_trainer, tmp_path):
    data = TokenDataModule(path=str(pong_tokens), batch_size=4, num_frames=4, seed=0)
    lm = dict(order="next_block", width=32, depth=1, heads=2, code_pixels=True)  # as a YAML's
    module = GeneratorModule(str(pong_tokens), lm, num_frames=4)
    pixels = module.model.embed.pixels_KP.clone()
    projection = module.model.embed.pixel_proj.weight.detach().clone()
    L.seed_everything(0)
    trainer = quiet_trainer(3, tmp_path)
    trainer.fit(module, datamodule=data)
    assert not torch.equal(module.model.embed.pixel_proj.weight, projection)  # it learns
    assert torch.equal(module.model.embed.pixels_KP, pixels)  # the patches stay fixed

    trainer.save_checkpoint(tmp_path / "last.ckpt")
    model_dir = export_generator(str(tmp_path / "last.ckpt"), str(tmp_path / "m"))
    generator = VideoGenerator.from_pretrained(model_dir)
    assert torch.equal(generator.lm.embed.pixels_KP, pixels)
    context = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    context[:] = (144, 72, 17)
    output = generator(context=context, actions=[2], num_frames=1, seed=0, progress=False)
    assert output.video.shape == (1, 2, 64, 64, 3)
