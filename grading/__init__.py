"""Grading: audio intake, speech recognition, Chinese text normalisation, rubric engine and scoring.

Public surface so far: model resolution (``model_store``) and engine choice (``asr_status``).
"""
from .engine_choice import asr_status, choose_engine
from .model_store import ModelNotFound, ensure as ensure_model, find as find_model, locate as locate_model

__all__ = ["ModelNotFound", "asr_status", "choose_engine", "ensure_model", "find_model", "locate_model"]
