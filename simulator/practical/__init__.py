"""The practical exam (操作技能考核): live simulated calls in the browser.

The live call itself is domain code in ``softphone_sim.live`` (runtime, turn-taking, audio, registry);
``service`` is what the views call; ``models`` holds scenario versions and calls.
"""
from softphone_sim.live import CallError, LiveCall, Timing

from .models import PracticalCall, ScenarioVersion
from .views import bp

__all__ = ["CallError", "LiveCall", "PracticalCall", "ScenarioVersion", "Timing", "bp"]
