"""Recognition metrics."""
from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from .textnorm import for_matching


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: edits needed to turn the hypothesis into the reference, per reference
    character, after ``for_matching`` (so punctuation and script variants do not count)."""
    ref, hyp = for_matching(reference), for_matching(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)
