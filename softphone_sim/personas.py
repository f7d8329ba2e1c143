"""Caller personas: how the virtual caller sounds.

``speed`` is the pace (1.2 = 20 % faster), ``pitch_semitones`` moves the voice up or down (see
``voice`` for how), ``gain_db`` is the loudness relative to the normal speech level, ``pause_s`` the
silence between sentences. Every engine honours all four.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    label: str              # Chinese, for trainers
    speed: float = 1.0      # 1.2 = 20 % faster
    pitch_semitones: float = 0.0
    gain_db: float = 0.0
    pause_s: float = 0.25   # pause between sentences

    def __post_init__(self):
        if not 0.25 <= self.speed <= 4 or not -12 <= self.pitch_semitones <= 12 or not -40 <= self.gain_db <= 20 \
                or not 0 <= self.pause_s <= 3:
            raise ValueError(f"persona {self.name}: speed 0.25-4, pitch -12..+12 semitones, gain -40..+20 dB, "
                             f"pause 0-3 s")

    def as_dict(self) -> dict:
        return asdict(self)


PERSONAS = {p.name: p for p in (
    Persona("calm", "平静", 1.0, 0.0, 0.0, 0.25),
    Persona("elderly", "老年", 0.8, -2.0, -2.0, 0.45),
    Persona("angry", "愤怒", 1.25, 1.5, 5.0, 0.1),
    Persona("anxious", "焦急", 1.2, 1.0, 2.0, 0.12),
    Persona("young", "年轻", 1.1, 1.5, 0.0, 0.2),
    Persona("soft", "轻声", 0.95, 0.0, -10.0, 0.3),
    Persona("male", "男声", 1.0, -5.0, 0.0, 0.25),
    Persona("fast", "语速过快", 1.45, 0.5, 1.0, 0.05),
)}


def get_persona(name: str | Persona) -> Persona:
    if isinstance(name, Persona):
        return name
    try:
        return PERSONAS[name]
    except KeyError:
        raise ValueError(f"unknown persona {name!r}; choose one of: {', '.join(PERSONAS)}") from None
