"""Certification sittings (鉴定批次): assessors create and run them, candidates take them, results are
published with score reports and verifiable certificates."""
from .models import AuditEntry, Sitting, SittingCandidate
from .views import bp

__all__ = ["AuditEntry", "Sitting", "SittingCandidate", "bp"]
