from .model_size import model_size

__all__ = ['model_size']
