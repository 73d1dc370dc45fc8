"""Lightning modules and callbacks that train arvideo's models (imports Lightning)."""

from arvideo.training.previews import Preview, PreviewCallback
from arvideo.training.tokenizer_module import TokenizerModule

__all__ = ["Preview", "PreviewCallback", "TokenizerModule"]
