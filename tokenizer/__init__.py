"""arvideo.tokenizer: clips <-> codes or continuous latents (causal 3D conv autoencoder)."""

from .bottleneck import BottleneckOutput
from .config import BottleneckConfig, TokenizerConfig
from .discriminator import DiscriminatorConfig, PatchDiscriminator
from .losses import LossOutput, TokenizerLoss, TokenizerLossConfig
from .model import LatentGrid, Reconstruction, TokenizerOutput, VideoTokenizer
from .msvq import ScaleStep
from .stability import StabilityMeter, TokenStability
from .usage import CodebookUsage

__all__ = [
    "BottleneckConfig",
    "BottleneckOutput",
    "CodebookUsage",
    "DiscriminatorConfig",
    "LatentGrid",
    "LossOutput",
    "PatchDiscriminator",
    "Reconstruction",
    "ScaleStep",
    "StabilityMeter",
    "TokenizerConfig",
    "TokenizerLoss",
    "TokenizerLossConfig",
    "TokenizerOutput",
    "TokenStability",
    "VideoTokenizer",
]
