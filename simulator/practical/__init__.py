"""The practical exam (操作技能考核): live simulated calls in the browser.

``runtime.LiveCall`` drives a scenario's virtual caller through a ``softphone_sim`` call while the
trainee's microphone streams in; ``registry`` keeps this process's live calls and feeds them audio on
worker threads; ``service`` is what the views call; ``models`` holds scenario versions and calls.
"""
from .models import PracticalCall, ScenarioVersion
from .runtime import CallError, LiveCall, Timing
from .views import bp

__all__ = ["CallError", "LiveCall", "PracticalCall", "ScenarioVersion", "Timing", "bp"]
