import pytest
import torch

from arvideo.tokenizer import BottleneckConfig, TokenizerConfig, VideoTokenizer
from arvideo.tokenizer.config import BOTTLENECK_KINDS

KINDS = BOTTLENECK_KINDS


def tiny_config(
    kind: str = "fsq", temporal: int = 1, spatial: int = 4, bottleneck_options=None, **overrides
):
    widths = {4: (16, 16, 32), 8: (16, 16, 32, 32), 16: (16, 16, 16, 32, 32)}[spatial]
    options = dict(
        kind=kind, codebook_size=64, fsq_levels=(4, 4, 4), rvq_depth=2, scales=(1, 2, 4),
        kmeans_init=False,
    )  # fmt: skip
    bottleneck = BottleneckConfig(**{**options, **(bottleneck_options or {})})
    values = dict(
        widths=widths,
        spatial_compression=spatial,
        temporal_compression=temporal,
        latent_dim=8,
        attention=True,
        bottleneck=bottleneck,
    )
    values.update(overrides)
    return TokenizerConfig(**values)


def tiny_tokenizer(kind: str = "fsq", temporal: int = 1, spatial: int = 4, seed: int = 0, **kw):
    torch.manual_seed(seed)
    return VideoTokenizer(tiny_config(kind, temporal, spatial, **kw))


def random_video(batch, frames, height, width, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, frames, height, width, generator=generator) * 2 - 1


@pytest.fixture(autouse=True)
def _two_threads():
    torch.set_num_threads(2)


@pytest.fixture
def make_tokenizer():
    return tiny_tokenizer


@pytest.fixture
def make_config():
    return tiny_config


@pytest.fixture
def make_video():
    return random_video
