from .bf16_autocast import BF16AutocastOptimWrapper

__all__ = ['BF16AutocastOptimWrapper']
