"""Practical-exam scenarios: the schema, the loader/validator and the scenario library (data files).

Public surface:
- ``load_scenario(path)``, ``load_library(root)``, ``Scenario``, ``ScenarioError``, ``LIBRARY_DIR``
- ``check(data)`` — every problem of a scenario as ``place: message``
- ``Conversation`` / ``Turn`` — walking a scenario's script by what the trainee says
"""
from .conversation import Conversation, Turn
from .loader import LIBRARY_DIR, Scenario, ScenarioError, fingerprint, from_data, load_library, load_scenario
from .schema import check

__all__ = ["Conversation", "LIBRARY_DIR", "Scenario", "ScenarioError", "Turn", "check", "fingerprint", "from_data",
           "load_library", "load_scenario"]
