"""Bitmap and band sizing against upstream ``allocator/bitmap.go`` (randomScanStrategyWithOffset)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from svcnet.allocators import Bitmap, Full, MismatchedRange, band_size


@dataclass(frozen=True)
class BandCase:
    id: str
    range_size: int
    minimum: int
    step: int
    maximum: int
    want: int


BAND_CASES = [
    # calculateRangeOffset: ranges of `min` values or fewer get no static band.
    BandCase("ip-size-16-no-band", 16, 16, 16, 256, 0),
    BandCase("ip-size-32-floor-16", 32, 16, 16, 256, 16),
    BandCase("ip-size-256-step", 256, 16, 16, 256, 16),
    BandCase("ip-size-2048-step", 2048, 16, 16, 256, 128),
    BandCase("ip-size-4096-cap", 4096, 16, 16, 256, 256),
    BandCase("ip-size-2^64-cap", 2**64, 16, 16, 256, 256),
    BandCase("port-size-16-no-band", 16, 16, 32, 128, 0),
    BandCase("port-size-17-floor-16", 17, 16, 32, 128, 16),
    BandCase("port-default-2768-step", 2768, 16, 32, 128, 86),
    BandCase("port-size-4096-cap", 4096, 16, 32, 128, 128),
    BandCase("port-size-65536-cap", 65536, 16, 32, 128, 128),
]


@pytest.mark.parametrize("case", BAND_CASES, ids=lambda c: c.id)
def test_band_size_calculate_range_offset(case: BandCase) -> None:
    got = band_size(case.range_size, minimum=case.minimum, step=case.step, maximum=case.maximum)
    assert got == case.want


def test_allocate_has_release_counts() -> None:
    b = Bitmap(100, 10, random.Random(0))
    assert b.allocate(5) is True
    assert b.allocate(5) is False  # upstream: (false, nil) when taken
    assert b.has(5) and not b.has(6)
    assert (b.used(), b.free()) == (1, 99)
    assert b.release(5) is True
    assert b.release(5) is False  # releasing a free slot is a no-op
    assert b.release(1000) is False  # and so is an offset outside the bitmap
    assert not b.has(-1) and not b.has(100)
    assert (b.used(), b.free()) == (0, 100)


@pytest.mark.parametrize("offset", [-1, 100, 10**6])
def test_allocate_outside_bitmap_is_an_error(offset: int) -> None:
    # upstream: "offset %d out of range [0,%d]"
    with pytest.raises(IndexError):
        Bitmap(100, 10).allocate(offset)


@pytest.mark.parametrize(("size", "band"), [(10, 10), (10, 11), (10, -1), (-1, 0)])
def test_static_band_must_be_smaller_than_size(size: int, band: int) -> None:
    with pytest.raises(ValueError):
        Bitmap(size, band)


@dataclass(frozen=True)
class ScanCase:
    id: str
    size: int
    band: int
    seed: int


SCAN_CASES = [
    ScanCase("kep3070-upper-band-first", 64, 16, 1),
    ScanCase("kep3070-unaligned-band", 61, 13, 2),
    ScanCase("kep3070-small-upper-band", 20, 16, 3),
    ScanCase("no-static-band", 37, 0, 4),
    ScanCase("byte-aligned-large", 4096, 256, 5),
]


@pytest.mark.parametrize("case", SCAN_CASES, ids=lambda c: c.id)
def test_dynamic_never_lands_in_static_band_until_upper_full(case: ScanCase) -> None:
    b = Bitmap(case.size, case.band, random.Random(case.seed))
    upper = [b.allocate_next() for _ in range(case.size - case.band)]
    assert sorted(upper) == list(range(case.band, case.size))
    lower = [b.allocate_next() for _ in range(case.band)]
    assert sorted(lower) == list(range(case.band))
    with pytest.raises(Full):
        b.allocate_next()


def test_static_requests_honoured_in_either_band() -> None:
    b = Bitmap(64, 16, random.Random(7))
    assert b.allocate(3)  # lower band
    assert b.allocate(40)  # upper band
    got = {b.allocate_next() for _ in range(47)}
    assert 40 not in got and 3 not in got
    assert got == set(range(16, 64)) - {40}


def test_lower_band_used_when_upper_full_skips_static_requests() -> None:
    b = Bitmap(32, 16, random.Random(9))
    for i in range(16, 32):
        b.allocate(i)
    b.allocate(0)
    b.allocate(15)
    got = {b.allocate_next() for _ in range(14)}
    assert got == set(range(1, 15))


def test_scan_wraps_around_inside_band() -> None:
    # Only the first slot of the upper band is free: whatever the random
    # start, the scan must wrap to find it.
    for seed in range(20):
        b = Bitmap(40, 8, random.Random(seed))
        for i in range(9, 40):
            b.allocate(i)
        assert b.allocate_next() == 8


def test_same_seed_same_sequence() -> None:
    def seq(seed: int) -> list[int]:
        b = Bitmap(1000, 64, random.Random(seed))
        return [b.allocate_next() for _ in range(50)]

    assert seq(42) == seq(42)
    assert seq(42) != seq(43)


def test_empty_bitmap_is_full() -> None:
    with pytest.raises(Full) as exc:
        Bitmap(0, 0, range_spec="x").allocate_next()
    assert str(exc.value) == "range is full"
    assert exc.value.range == "x"


@dataclass(frozen=True)
class SnapCase:
    id: str
    size: int
    taken: tuple[int, ...]
    data: bytes


SNAP_CASES = [
    # big.Int.Bytes(): big-endian, no leading zero bytes, bit i = offset i.
    SnapCase("empty-is-no-bytes", 100, (), b""),
    SnapCase("offset-0", 100, (0,), b"\x01"),
    SnapCase("offset-7", 100, (7,), b"\x80"),
    SnapCase("offset-8", 100, (8,), b"\x01\x00"),
    SnapCase("offsets-0-9", 100, (0, 9), b"\x02\x01"),
    SnapCase("last-offset", 17, (16,), b"\x01\x00\x00"),
]


@pytest.mark.parametrize("case", SNAP_CASES, ids=lambda c: c.id)
def test_snapshot_is_go_big_int_bytes(case: SnapCase) -> None:
    b = Bitmap(case.size, 0)
    for i in case.taken:
        b.allocate(i)
    assert b.snapshot() == case.data
    r = Bitmap(case.size, 0)
    r.restore(case.data)
    assert list(r) == list(case.taken)
    assert r.used() == len(case.taken)


def test_restore_round_trip_keeps_band_accounting() -> None:
    b = Bitmap(64, 16, random.Random(1))
    for i in [0, 5, 15, 16, 33, 63]:
        b.allocate(i)
    r = Bitmap(64, 16, random.Random(2))
    r.allocate(40)  # replaced by the restore
    r.restore(b.snapshot())
    assert list(r) == [0, 5, 15, 16, 33, 63]
    assert (r.used(), r.free()) == (6, 58)
    # The static count was recomputed: dynamic allocation still fills the
    # whole upper band before touching the lower one.
    got = [r.allocate_next() for _ in range(45)]
    assert all(i >= 16 for i in got)
    assert sorted(r.allocate_next() for _ in range(13)) == sorted(set(range(16)) - {0, 5, 15})


def test_restore_rejects_bits_past_size() -> None:
    b = Bitmap(10, 0)
    b.allocate(3)
    with pytest.raises(MismatchedRange):
        b.restore(b"\x04\x00")  # offset 10
    assert list(b) == [3]  # unchanged


def test_copy_is_independent() -> None:
    b = Bitmap(50, 16, random.Random(0))
    b.allocate(20)
    c = b.copy()
    c.allocate(21)
    b.release(20)
    assert list(b) == [] and list(c) == [20, 21]


def test_iteration_order_and_clear() -> None:
    b = Bitmap(300, 16)
    for i in [299, 0, 128, 7, 8]:
        b.allocate(i)
    assert list(b) == [0, 7, 8, 128, 299]
    b.clear()
    assert list(b) == [] and b.used() == 0


def test_matches_reference_set_model() -> None:
    rng = random.Random(1234)
    b = Bitmap(203, 19, random.Random(99))
    model: set[int] = set()
    for _ in range(5000):
        op = rng.random()
        if op < 0.45 and len(model) < 203:
            got = b.allocate_next()
            assert got not in model
            upper_free = set(range(19, 203)) - model
            if upper_free:
                assert got >= 19
            model.add(got)
        elif op < 0.7:
            i = rng.randrange(203)
            assert b.allocate(i) == (i not in model)
            model.add(i)
        else:
            i = rng.randrange(203)
            assert b.release(i) == (i in model)
            model.discard(i)
        assert b.used() == len(model)
    assert set(b) == model
