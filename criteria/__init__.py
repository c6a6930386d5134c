"""The eligibility engine: facts, the protocol, calculators and evaluate(). Pure: no I/O."""

from .evaluate import evaluate
from .facts import FACT_KEYS, EularAcrInput, Facts
from .outcome import STATUSES, Failure, Missing, Note, Outcome, Pending
from .protocol import CRITERIA, CRITERION_IDS, PROTOCOL_VERSION, TITLES

__all__ = [
    "CRITERIA", "CRITERION_IDS", "FACT_KEYS", "PROTOCOL_VERSION", "STATUSES", "TITLES", "EularAcrInput", "Facts",
    "Failure", "Missing", "Note", "Outcome", "Pending", "evaluate",
]
