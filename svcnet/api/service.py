"""Service strategy: defaulting and validation (pure), as kube-apiserver does it.

Theory of operation: this module is the public face the API machinery calls
(`svcnet.api.builtin`); the rules live in one module per concern:

* `svcnet.api.service_config` -- `ServiceConfig`: the cluster settings the
  rules depend on (service CIDRs, hence IP families; NodePort range).
* `svcnet.api.service_defaults` -- ``SetDefaults_Service`` and the
  registry's update-time fix-ups (keep allocated values, sync clusterIPs,
  drop fields a new type cannot use).
* `svcnet.api.service_ipfamily` -- clusterIPs / ipFamilies / ipFamilyPolicy.
* `svcnet.api.service_validation` -- ``ValidateService`` and
  ``ValidateServiceUpdate``.
* `svcnet.api.service_endpoints` -- Endpoints and EndpointSlice.

Every function taking a ``config`` defaults to `DEFAULT_CONFIG` (10.96.0.0/16,
NodePorts 30000-32767); the API server binds its own with
``functools.partial``. Allocation (ClusterIPs, NodePorts) is not done here:
the allocators run after validation and fill what is still empty.

Create: ``default(obj, config=c)`` then ``validate(obj, c)``.
Update: ``default(new, old, c)`` then ``validate(new, c, old=old)``; for
machinery that calls ``validate(new)`` and ``validate_update(new, old)``
and adds the lists, `validate_update` returns only what the update adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svcnet.api.service_config import DEFAULT_CONFIG, Obj, ServiceConfig
from svcnet.api.service_defaults import default_service
from svcnet.api.service_endpoints import (
    CLUSTER_IP_MESSAGE,
    IsClusterIP,
    default_endpoints,
    default_endpointslice,
    no_cluster_ips,
    validate_endpoint_ip,
    validate_endpoints,
    validate_endpointslice,
    validate_endpointslice_update,
)
from svcnet.api.service_validation import validate_service
from svcnet.api.validation import FieldError, is_dns1035_label

__all__ = [
    "CLUSTER_IP_MESSAGE",
    "DEFAULT_CONFIG",
    "IsClusterIP",
    "ServiceConfig",
    "default",
    "default_endpoints",
    "default_endpointslice",
    "no_cluster_ips",
    "validate",
    "validate_endpoint_ip",
    "validate_endpoints",
    "validate_endpointslice",
    "validate_endpointslice_update",
    "validate_name",
    "validate_update",
]


def validate_name(name: str) -> list[str]:
    """Upstream ``ValidateServiceName``: Service names are DNS-1035 labels."""
    return is_dns1035_label(name)


def default(
    obj: Obj, old: Mapping[str, Any] | None = None, config: ServiceConfig = DEFAULT_CONFIG
) -> None:
    """Fill a Service's defaults in place.

    Args:
        obj: the Service being created, or the new object of an update.
        old: the stored Service on update (keeps allocated values the client
            omitted, and applies type-change clean-ups); None on create.
        config: the cluster's service CIDRs and NodePort range.
    """
    default_service(obj, old, config)


def validate(
    obj: Mapping[str, Any],
    config: ServiceConfig = DEFAULT_CONFIG,
    old: Mapping[str, Any] | None = None,
) -> list[FieldError]:
    """Field errors for a defaulted Service: upstream's create rules, or with
    ``old`` its full update rules (``ValidateServiceUpdate``). ObjectMeta is
    the API machinery's (see `validate_name`)."""
    return validate_service(obj, config, old)


def validate_update(
    obj: Mapping[str, Any], old: Mapping[str, Any], config: ServiceConfig = DEFAULT_CONFIG
) -> list[FieldError]:
    """The errors an update adds to ``validate(obj, config)``: transition rules
    (immutable clusterIPs, ipFamilies upgrades/downgrades, loadBalancerClass,
    healthCheckNodePort) and rules that depend on the stored object."""
    plain = validate_service(obj, config)
    return [e for e in validate_service(obj, config, old) if e not in plain]
