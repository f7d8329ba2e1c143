"""The simulated call-center system: calls, queue, IVR, hold/transfer, CTI, work orders, recording,
and the virtual caller's voice. Pure Python, no Flask inside.

Public surface:
- calls: ``Call``, ``CallState``, ``InvalidAction``, ``AcdQueue`` (module ``ivr``, ``cti``, ``workorder``,
  ``recording`` for the IVR menu, the screen pop, 工单 validation and two-sided recordings)
- caller voice: ``get_voice``, ``Voice``, ``Persona``, ``get_persona``, ``PERSONAS``, ``speakable``,
  ``apply_condition``, ``parse_condition``, ``render_line``, ``prerender``, ``RenderedLine``, ``tts_status``
"""
from .acd import AcdQueue
from .call import Call, CallState, InvalidAction
from .line import apply_condition, parse_condition
from .personas import PERSONAS, Persona, get_persona
from .render import RenderedLine, prerender, render_line
from .speech_text import speakable, stage_directions
from .tts_engines import tts_status
from .voice import Voice, get_voice

__all__ = ["AcdQueue", "Call", "CallState", "InvalidAction", "PERSONAS", "Persona", "RenderedLine", "Voice",
           "apply_condition", "get_persona", "get_voice", "parse_condition", "prerender", "render_line", "speakable",
           "stage_directions", "tts_status"]
