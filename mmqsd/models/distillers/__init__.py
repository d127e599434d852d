from .fgd_distiller import FGDDistiller, build_model
from .fgd_loss import FGDLoss, token_similarity_distance
from .recorders import ATTENTION_TYPES, QKVRecorder, select_attention_layers

__all__ = [
    'FGDDistiller', 'build_model', 'FGDLoss', 'token_similarity_distance', 'ATTENTION_TYPES',
    'QKVRecorder', 'select_attention_layers'
]
