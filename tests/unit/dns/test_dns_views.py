"""API objects -> views at the watch boundary: the fields DNS reads, and
odd objects read as absent fields rather than exceptions."""

from __future__ import annotations

from typing import Any

import pytest

from svcnet.dns.views import (
    EndpointSliceView,
    EndpointView,
    PortView,
    ServiceView,
    endpointslice_view,
    service_view,
    slim,
    view_of,
)


def service(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", **meta}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "meta", "want"),
    [
        pytest.param(
            {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.20",
                "clusterIPs": ["10.96.0.20"],
                "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "selector": {"app": "web"},
            },
            {},
            ServiceView(
                "default",
                "web",
                "ClusterIP",
                ("10.96.0.20",),
                False,
                "",
                (PortView("http", "TCP", 80),),
                False,
                True,
            ),
            id="ClusterIP",
        ),
        pytest.param(
            {"clusterIP": "10.96.0.30", "clusterIPs": ["10.96.0.30", "FD00:10:96:0::30"]},
            {},
            ServiceView("default", "web", "ClusterIP", ("10.96.0.30", "fd00:10:96::30")),
            id="dual-stack, IPv6 canonicalised",
        ),
        pytest.param(
            {"clusterIP": "None", "clusterIPs": ["None"], "publishNotReadyAddresses": True},
            {},
            ServiceView("default", "web", headless=True, publish_not_ready=True),
            id="headless with publishNotReadyAddresses",
        ),
        pytest.param(
            {"clusterIP": "None"},
            {"annotations": {"service.alpha.kubernetes.io/tolerate-unready-endpoints": "true"}},
            ServiceView("default", "web", headless=True, publish_not_ready=True),
            id="spec 2.1 tolerate-unready annotation",
        ),
        pytest.param(
            {"type": "ExternalName", "externalName": "WWW.Example.COM."},
            {},
            ServiceView("default", "web", "ExternalName", external_name="www.example.com"),
            id="ExternalName, lowercased, no trailing dot",
        ),
        pytest.param(
            {
                "type": "NodePort",
                "clusterIP": "10.96.0.9",
                "ports": [{"port": 80, "nodePort": 30080}],
            },
            {},
            ServiceView(
                "default", "web", "NodePort", ("10.96.0.9",), ports=(PortView("", "TCP", 80),)
            ),
            id="NodePort, unnamed port defaults to TCP",
        ),
        pytest.param(
            {
                "clusterIP": 7,
                "clusterIPs": "x",
                "ports": [{"port": "80"}, {"port": 0}, "junk", {"port": True}],
            },
            {},
            ServiceView("default", "web"),
            id="wrong types read as absent",
        ),
        pytest.param(
            {"clusterIP": "not-an-ip"}, {}, ServiceView("default", "web"), id="bad IP dropped"
        ),
    ],
)
def test_service_view(spec: dict[str, Any], meta: dict[str, Any], want: ServiceView) -> None:
    assert service_view(service(spec, **meta)) == want


def test_service_view_of_garbage() -> None:
    assert service_view({}) == ServiceView("", "")
    assert service_view({"metadata": "x", "spec": []}) == ServiceView("", "")


def slice_(endpoints: list[Any], address_type: str = "IPv4", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web-abc",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "web"},
            "annotations": {
                "endpoints.kubernetes.io/last-change-trigger-time": "2024-01-01T00:00:00Z"
            },
        },
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": [
            {"name": "http", "protocol": "TCP", "port": 8080},
            {"name": "none", "port": None},
        ],
        **extra,
    }


def test_endpointslice_view() -> None:
    v = endpointslice_view(
        slice_(
            [
                {
                    "addresses": ["10.244.1.5"],
                    "conditions": {"ready": True},
                    "hostname": "Pet-0",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "name": "pet-0"},
                },
                {"addresses": ["10.244.1.6"], "conditions": {}},
                {
                    "addresses": ["10.244.1.7"],
                    "conditions": {"ready": False, "serving": True, "terminating": True},
                },
                {"addresses": ["fd00::1"]},  # wrong family for an IPv4 slice
                {"addresses": []},
                "junk",
            ]
        )
    )
    assert v == EndpointSliceView(
        "default",
        "web-abc",
        "web",
        "IPv4",
        (
            EndpointView(("10.244.1.5",), True, True, False, "pet-0", "n1", "pet-0"),
            EndpointView(("10.244.1.6",)),  # discovery/v1: nil ready means ready
            EndpointView(("10.244.1.7",), ready=False, serving=True, terminating=True),
        ),
        (PortView("http", "TCP", 8080),),
        "2024-01-01T00:00:00Z",
    )
    assert v.service_key == ("default", "web")


def test_fqdn_slices_have_no_endpoints() -> None:
    v = endpointslice_view(slice_([{"addresses": ["www.example.com"]}], address_type="FQDN"))
    assert v.endpoints == ()


def test_ipv6_slice_canonicalises() -> None:
    v = endpointslice_view(slice_([{"addresses": ["FD00:0:0::5"]}], address_type="IPv6"))
    assert v.endpoints[0].addresses == ("fd00::5",)


def test_slim_transform_keeps_only_metadata_and_view() -> None:
    t = slim(service_view)
    raw = service({"clusterIP": "10.96.0.1"}, resourceVersion="42", uid="u", labels={"a": "b"})
    s = t(raw)
    assert s["metadata"] == {"name": "web", "namespace": "default", "resourceVersion": "42"}
    assert view_of(s) == ServiceView("default", "web", cluster_ips=("10.96.0.1",))
    assert t(s) is s  # idempotent
