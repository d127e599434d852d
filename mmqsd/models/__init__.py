from . import backbones, data_preprocessors, decode_heads, distillers, heads, necks  # noqa: F401
