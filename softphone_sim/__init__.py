"""The simulated call-center system: calls, queue, IVR, hold/transfer, CTI, recording, caller voice.

Pure Python, no Flask inside. Public surface so far: ``tts_status`` (which caller voice engine runs).
"""
from .tts_engines import tts_status

__all__ = ["tts_status"]
