"""Counting problems in lenient reads of prediction files."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ReadReport:
    """What a lenient read found wrong and how it was handled.

    Attributes:
        counts: By kind: model output that cannot be scored as a span (``ungrounded``,
            ``parse_failure``, ``truncated``) and, in lenient reads, malformed input
            (``surface_mismatch``, ``span_out_of_range``, ``malformed_span``,
            ``unknown_label``).
        unscorable: ``(document index, label)`` of entities without a usable span (they
            still count as spurious predictions in scoring).
        failed_outputs: Document index (position in the file) of each output that did not
            parse.
        first: The location and message of the first few problems.
    """

    counts: Counter[str] = field(default_factory=Counter)
    unscorable: list[tuple[int, str]] = field(default_factory=list)
    failed_outputs: list[int] = field(default_factory=list)
    first: list[str] = field(default_factory=list)

    def add(self, kind: str, where: str) -> None:
        """Count one problem of ``kind`` at ``where``."""
        self.counts[kind] += 1
        if len(self.first) < 10:
            self.first.append(f"{where}: {kind}")
