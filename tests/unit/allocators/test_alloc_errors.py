"""Allocator error types and the messages the Service REST layer builds from them."""

from __future__ import annotations

import pytest

from svcnet.allocators import (
    AllocatorError,
    AlreadyAllocated,
    Full,
    InvalidRange,
    MismatchedRange,
    NotInRange,
    health_check_node_port_failure,
    ip_allocation_detail,
    next_ip_failure,
    next_node_port_failure,
)


@pytest.mark.parametrize(
    ("err", "text"),
    [
        (Full("10.0.0.0/16"), "range is full"),
        (AlreadyAllocated("10.0.0.5", "10.0.0.0/16"), "provided IP is already allocated"),
        (AlreadyAllocated(30080, "30000-32767", "port"), "provided port is already allocated"),
        (
            NotInRange("10.1.0.5", "10.0.0.0/16"),
            "the provided IP (10.1.0.5) is not in the valid range. The range of valid IPs is 10.0.0.0/16",
        ),
        (
            NotInRange(80, "30000-32767", "port"),
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        ),
        (MismatchedRange("a", "b"), "the provided network does not match the current range"),
        (
            MismatchedRange("a", "b", "port"),
            "the provided port range does not match the current port range",
        ),
    ],
    ids=[
        "ErrFull",
        "ErrAllocated-ip",
        "ErrAllocated-port",
        "ErrNotInRange-ip",
        "ErrNotInRange-port",
        "ErrMismatchedNetwork-ip",
        "ErrMismatchedNetwork-port",
    ],
)
def test_messages(err: AllocatorError, text: str) -> None:
    assert isinstance(err, AllocatorError)
    assert str(err) == text


def test_invalid_range_is_a_value_error() -> None:
    assert issubclass(InvalidRange, AllocatorError) and issubclass(InvalidRange, ValueError)


def test_rest_layer_details() -> None:
    full = Full()
    assert ip_allocation_detail("10.0.0.5", AlreadyAllocated("10.0.0.5", "")) == (
        "failed to allocate IP 10.0.0.5: provided IP is already allocated"
    )
    assert next_ip_failure(full) == "failed to allocate a serviceIP: range is full"
    assert next_node_port_failure(full) == "failed to allocate a nodePort: range is full"
    assert health_check_node_port_failure(full) == (
        "failed to allocate a HealthCheck NodePort 0: range is full"
    )
    assert health_check_node_port_failure(AlreadyAllocated(31000, "", "port"), 31000) == (
        "failed to allocate requested HealthCheck NodePort 31000: provided port is already allocated"
    )
