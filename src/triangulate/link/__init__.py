"""Record linkage: which agency records belong to the same person.

No agency shares an identifier with the others, so the same person appears as a custody record, a
court appearance and a mental health referral with different spellings and missing numbers.
``link`` trains a Splink model on the identity zone without ground truth, clusters records into
people and writes a pseudonymous ``person_key`` to every content record, keeping the keys of people
whose records did not change. ``evaluate`` measures the result against a ground-truth file (the
synthetic population's) and writes the diagnostics a reviewer needs. Method and figures:
docs/linkage.md.
"""

from .evaluate import evaluate
from .run import LinkError, LinkReport, latest_model, link

__all__ = ["LinkError", "LinkReport", "evaluate", "latest_model", "link"]
