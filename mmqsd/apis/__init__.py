from .inference import build_model_from_config, init_model

__all__ = ['build_model_from_config', 'init_model']
