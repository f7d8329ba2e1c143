"""The live practical call: the virtual caller and the trainee on one simulated line.

- ``runtime.LiveCall``: one call (caller lines, controls, record), clock-driven;
- ``turns.TurnTaking``: who speaks when, decided on voice activity;
- ``listener.AgentAudio``: the trainee's audio on disk, voice activity at once, recognition queued;
- ``registry.CallRegistry``: this process's calls, their recognition threads, the idle sweep.
No Flask inside: the web layer (simulator/practical) calls these.
"""
from .registry import MAX_CHUNK_BYTES, AudioTooFast, CallRegistry, ChunkOutOfOrder, TooManyCalls
from .runtime import CallError, LiveCall, Timing
from .turns import Phase, TurnSettings, TurnTaking

__all__ = ["MAX_CHUNK_BYTES", "AudioTooFast", "CallError", "CallRegistry", "ChunkOutOfOrder", "LiveCall", "Phase",
           "Timing", "TooManyCalls", "TurnSettings", "TurnTaking"]
