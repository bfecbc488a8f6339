"""`Answer`: what the record index says about one (name, type).

An Answer is the index's whole reply to a question, before any wire
concerns: the rcode, the answer, authority and additional sections (dnslib
RRs), and, for an ExternalName whose target lies outside the zone, the
name the server should chase through its upstreams (spec 2.5 shows the
target's address in the answer).

Answers are immutable by convention: the index caches and shares them.
The one mutable slot, ``wire``, is the server's memo of the encoded reply
(see `svcnet.dns.wire`), set once and dropped with the Answer when the
index invalidates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dnslib import RCODE, RR

__all__ = ["NODATA", "NOERROR", "NXDOMAIN", "Answer", "normalise_zone", "zone_lines"]

NOERROR = 0
NXDOMAIN = 3
NODATA = NOERROR  # NODATA is NOERROR with an empty answer section


class Answer:
    """The index's reply to one question (see the module docstring)."""

    __slots__ = ("additional", "answer", "authority", "chase", "rcode", "wire")

    def __init__(
        self,
        rcode: int = NOERROR,
        answer: Sequence[RR] = (),
        authority: Sequence[RR] = (),
        additional: Sequence[RR] = (),
        chase: str = "",
    ) -> None:
        self.rcode = rcode
        self.answer = tuple(answer)
        self.authority = tuple(authority)
        self.additional = tuple(additional)
        self.chase = chase
        self.wire: object = None

    @property
    def nxdomain(self) -> bool:
        return self.rcode == NXDOMAIN

    @property
    def nodata(self) -> bool:
        return self.rcode == NOERROR and not self.answer

    def __repr__(self) -> str:
        rc = RCODE.get(self.rcode, str(self.rcode))
        return (
            f"Answer({rc}, answer={zone_lines(self.answer)}, "
            f"authority={zone_lines(self.authority)}, additional={zone_lines(self.additional)})"
        )


def _norm_line(text: str) -> str:
    return " ".join(text.split())


def zone_lines(rrs: Iterable[RR]) -> list[str]:
    """RRs as zone-file lines with single spaces (``name ttl IN type rdata``)."""
    return [_norm_line(rr.toZone()) for rr in rrs]


def normalise_zone(text: str | Iterable[str]) -> list[str]:
    """Zone-file text (one record per line, or lines) parsed and re-rendered,
    sorted: two RR sets compare equal iff their normal forms do."""
    if not isinstance(text, str):
        text = "\n".join(text)
    rrs = RR.fromZone(text) if text.strip() else []
    return sorted(zone_lines(rrs))
