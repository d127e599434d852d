from .event_frame_preprocessor import EventFramePreprocessor

__all__ = ['EventFramePreprocessor']
