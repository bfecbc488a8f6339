"""ClusterIPs, ipFamilies and ipFamilyPolicy: upstream's dual-stack rules.

Theory of operation: three linked fields decide a Service's virtual IPs.
Upstream spreads their rules over three places, reproduced here one function
each, in upstream's order:

1. `validate_cluster_ips_related_fields` (``ValidateServiceClusterIPsRelatedFields``):
   the object alone must be self-consistent.
2. `init_ip_family_fields` (the registry's ``initIPFamilyFields``): defaults
   ``ipFamilyPolicy`` and ``ipFamilies`` from the cluster's families and the
   requested IPs, and rejects what the cluster cannot serve. It both mutates
   and returns errors; when it returns errors it stopped mutating at the same
   point upstream does, so running it again on its own output gives the same
   errors (defaulting runs it, validation re-runs it for the errors).
3. `validate_cluster_ips_in_range`: the allocator's "not in the valid range"
   check for requested IPs, done before allocation so the message names the
   field (allocation itself is the allocator's job).

On update, `validate_upgrade_downgrade` applies upstream's transition rules:
a secondary IP/family may be added or released (releasing needs
``SingleStack``), the primary never changes, except to or from ExternalName.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from svcnet.api.service_config import (
    CLUSTER_IP_NONE,
    IP_FAMILIES,
    IP_FAMILY_POLICIES,
    PREFER_DUAL_STACK,
    REQUIRE_DUAL_STACK,
    SINGLE_STACK,
    TYPE_CLUSTER_IP,
    TYPE_EXTERNAL_NAME,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
    Obj,
    ServiceConfig,
    cluster_ips,
    family_of,
    go_ip,
    ip_families,
    is_headless,
    other_family,
)
from svcnet.api.validation import (
    FieldError,
    Path,
    duplicate,
    invalid,
    is_valid_ip,
    not_supported,
    required,
)

SPEC = Path("spec")
CLUSTER_IPS = SPEC.child("clusterIPs")
IP_FAMILIES_PATH = SPEC.child("ipFamilies")
POLICY = SPEC.child("ipFamilyPolicy")


def validate_cluster_ips_related_fields(spec: Mapping[str, Any]) -> list[FieldError]:
    """Upstream ``ValidateServiceClusterIPsRelatedFields`` (ExternalName is skipped:
    its fields are checked by the type rules)."""
    if spec.get("type") == TYPE_EXTERNAL_NAME:
        return []
    errs: list[FieldError] = []
    ips, families = cluster_ips(spec), ip_families(spec)
    if spec.get("clusterIP"):
        if not ips:
            errs.append(required(CLUSTER_IPS))
        elif ips[0] != spec["clusterIP"]:
            errs.append(invalid(CLUSTER_IPS, ips, "first value must match `clusterIP`"))
    elif ips:
        errs.append(invalid(CLUSTER_IPS, ips, "must be empty when `clusterIP` is not specified"))

    seen: set[str] = set()
    for i, fam in enumerate(families):
        if fam not in IP_FAMILIES:
            errs.append(not_supported(IP_FAMILIES_PATH.index(i), fam, IP_FAMILIES))
        if fam in seen:
            errs.append(duplicate(IP_FAMILIES_PATH.index(i), fam))
        seen.add(fam)

    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        errs.append(not_supported(POLICY, policy, IP_FAMILY_POLICIES))

    has_invalid_ips = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == CLUSTER_IP_NONE:
            if len(ips) > 1:
                has_invalid_ips = True
                errs.append(invalid(CLUSTER_IPS, ips, "'None' must be the first and only value"))
            continue
        msgs = is_valid_ip(ip)
        has_invalid_ips = has_invalid_ips or bool(msgs)
        errs.extend(invalid(CLUSTER_IPS.index(i), ip, m) for m in msgs)
    if len(ips) > 2:
        errs.append(invalid(CLUSTER_IPS, ips, "may only hold up to 2 values"))
    # Bad IPs would skew the family checks below; upstream stops here too.
    if has_invalid_ips:
        return errs

    if len(ips) > 1 and len({family_of(ip) for ip in ips}) < 2:
        errs.append(invalid(CLUSTER_IPS, ips, "may specify no more than one IP for each IP family"))

    if not is_headless(spec) and ips and families:
        for i, (ip, fam) in enumerate(zip(ips, families, strict=False)):
            if fam in IP_FAMILIES and family_of(ip) != fam:
                errs.append(
                    invalid(
                        CLUSTER_IPS.index(i),
                        ip,
                        f"expected an {fam} value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return errs


def _matching_prefer_dual_stack(spec: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """Upstream ``isMatchingPreferDualStackClusterIPFields``: an unchanged
    PreferDualStack Service is never re-shaped after a cluster change."""
    policy = spec.get("ipFamilyPolicy")
    return (
        policy == PREFER_DUAL_STACK
        and old.get("type") == spec.get("type")
        and spec.get("type") in (TYPE_CLUSTER_IP, TYPE_NODE_PORT, TYPE_LOAD_BALANCER)
        and old.get("ipFamilyPolicy") in (None, PREFER_DUAL_STACK)
        and cluster_ips(old) == cluster_ips(spec)
        and ip_families(old) == ip_families(spec)
    )


def init_ip_family_fields(
    spec: Obj, old: Mapping[str, Any] | None, config: ServiceConfig
) -> list[FieldError]:
    """Default ipFamilyPolicy / ipFamilies in place and return what the cluster
    rejects (upstream ``initIPFamilyFields``).

    Args:
        spec: the new Service's spec (mutated).
        old: the stored Service's spec on update, None on create.
        config: the cluster's families.
    """
    if spec.get("type") == TYPE_EXTERNAL_NAME:
        return []
    if old is not None and _matching_prefer_dual_stack(spec, old):
        return []

    if spec.get("ipFamilyPolicy") is None:
        if old is not None and old.get("ipFamilyPolicy") is not None:
            spec["ipFamilyPolicy"] = old["ipFamilyPolicy"]
        elif spec.get("clusterIP") == CLUSTER_IP_NONE and not spec.get("selector"):
            spec["ipFamilyPolicy"] = REQUIRE_DUAL_STACK  # headless without selector
        else:
            spec["ipFamilyPolicy"] = SINGLE_STACK
    policy = spec["ipFamilyPolicy"]

    if errs := validate_cluster_ips_related_fields(spec):
        return errs

    errs = []
    ips, families = cluster_ips(spec), ip_families(spec)
    if old is not None:
        if policy == SINGLE_STACK:
            # Unchanged lists plus SingleStack is a clear request to downgrade.
            if cluster_ips(old) == ips and len(ips) > 1:
                ips = spec["clusterIPs"] = ips[:1]
            if ip_families(old) == families and len(families) > 1:
                families = spec["ipFamilies"] = families[:1]
        else:
            if ips and len(ips) < len(cluster_ips(old)):
                errs.append(
                    invalid(
                        POLICY, policy, "must be 'SingleStack' to release the secondary cluster IP"
                    )
                )
            if families and len(families) < len(ip_families(old)):
                errs.append(
                    invalid(
                        POLICY, policy, "must be 'SingleStack' to release the secondary IP family"
                    )
                )

    if policy == SINGLE_STACK:
        many = "must be 'RequireDualStack' or 'PreferDualStack' when multiple"
        if len(ips) == 2:
            errs.append(invalid(POLICY, policy, f"{many} cluster IPs are specified"))
        if len(families) == 2:
            errs.append(invalid(POLICY, policy, f"{many} IP families are specified"))

    # Infer families from the requested IPs. (Upstream appends even when it
    # then fails; keeping the object untouched on failure changes nothing
    # visible and makes this function idempotent.)
    inferred = list(families)
    for i, ip in enumerate(ips):
        if ip == CLUSTER_IP_NONE:
            break
        fam = family_of(ip)
        if i >= len(inferred):
            if fam not in config.families:
                errs.append(
                    invalid(CLUSTER_IPS.index(i), ips, f"{fam} is not configured on this cluster")
                )
            else:
                inferred.append(fam)
    if errs:
        return errs
    if inferred != families:
        families = spec["ipFamilies"] = inferred

    if spec.get("clusterIP") == CLUSTER_IP_NONE and not spec.get("selector"):
        # Headless without selector: any families, even ones not configured.
        if not families:
            families = spec["ipFamilies"] = [config.families[0]]
        if len(families) < 2 and policy != SINGLE_STACK:
            spec["ipFamilies"] = [*families, other_family(families[0])]
        return []

    if policy == REQUIRE_DUAL_STACK and not config.dual_stack:
        errs.append(
            invalid(POLICY, policy, "this cluster is not configured for dual-stack services")
        )
    for i, fam in enumerate(families):
        if fam not in config.families:
            errs.append(invalid(IP_FAMILIES_PATH.index(i), fam, "not configured on this cluster"))
    if errs:
        return errs

    if not families:
        families = spec["ipFamilies"] = [config.families[0]]
    if policy != SINGLE_STACK and len(families) == 1 and config.dual_stack:
        spec["ipFamilies"] = [*families, other_family(families[0])]
    return []


def validate_cluster_ips_in_range(
    spec: Mapping[str, Any], old: Mapping[str, Any] | None, config: ServiceConfig
) -> list[FieldError]:
    """Requested clusterIPs must lie in their family's service CIDR (the
    allocator's ``ErrNotInRange``; IPs kept from the old object are not
    re-checked, so a range change never blocks updates)."""
    if spec.get("type") == TYPE_EXTERNAL_NAME:
        return []
    kept = set(cluster_ips(old)) if old is not None else set()
    errs: list[FieldError] = []
    for i, ip in enumerate(cluster_ips(spec)):
        addr = go_ip(ip)
        if addr is None or ip in kept:
            continue
        net = config.network_for(family_of(ip))
        if net is None:
            continue  # reported by init_ip_family_fields
        # The allocator never hands out the network address, nor IPv4 broadcast.
        usable = addr in net and addr != net.network_address
        if usable and net.version == 4:
            usable = addr != net.broadcast_address
        if not usable:
            errs.append(
                invalid(
                    CLUSTER_IPS.index(i),
                    ip,
                    f"the provided IP ({addr}) is not in the valid range. "
                    f"The range of valid IPs is {net}",
                )
            )
    return errs


def validate_upgrade_downgrade(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """Upstream ``validateUpgradeDowngradeClusterIPs`` and ``...IPFamilies``."""
    if TYPE_EXTERNAL_NAME in (spec.get("type"), old.get("type")):
        return []
    return _upgrade_downgrade_cluster_ips(spec, old) + _upgrade_downgrade_families(spec, old)


def _upgrade_downgrade_cluster_ips(
    spec: Mapping[str, Any], old: Mapping[str, Any]
) -> list[FieldError]:
    if is_headless(old) and is_headless(spec):
        return []
    errs: list[FieldError] = []
    new_ips, old_ips = cluster_ips(spec), cluster_ips(old)
    shown = spec.get("clusterIPs")  # as upstream shows it: null when absent
    changed = "may not change once set"
    if len(old_ips) == len(new_ips):
        errs.extend(
            invalid(CLUSTER_IPS.index(i), shown, changed)
            for i, ip in enumerate(old_ips)
            if ip != new_ips[i]
        )
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errs.append(invalid(CLUSTER_IPS.index(0), shown, "primary clusterIP can not be unset"))
        elif new_ips[0] != old_ips[0]:
            errs.append(invalid(CLUSTER_IPS.index(0), shown, changed))
        if len(new_ips) == 1 and spec.get("ipFamilyPolicy") != SINGLE_STACK:
            errs.append(
                invalid(
                    POLICY,
                    spec.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errs.append(invalid(CLUSTER_IPS.index(0), shown, changed))
    return errs


def _upgrade_downgrade_families(
    spec: Mapping[str, Any], old: Mapping[str, Any]
) -> list[FieldError]:
    # Headless services may change families, and so may a change to/from headless.
    if is_headless(old) or is_headless(spec):
        return []
    errs: list[FieldError] = []
    new_fams, old_fams = ip_families(spec), ip_families(old)
    shown_fams, shown_ips = spec.get("ipFamilies"), spec.get("clusterIPs")
    first = IP_FAMILIES_PATH.index(0)
    changed = "may not change once set"
    if len(old_fams) == len(new_fams):
        # Upstream reports every changed entry at index 0.
        errs.extend(
            invalid(first, shown_fams, changed)
            for i, fam in enumerate(old_fams)
            if fam != new_fams[i]
        )
    elif len(old_fams) > len(new_fams):
        # Upstream tests clusterIPs here, and shows clusterIPs on a change.
        if not cluster_ips(spec):
            errs.append(invalid(first, shown_fams, "primary ipFamily can not be unset"))
        if new_fams and new_fams[0] != old_fams[0]:
            errs.append(invalid(first, shown_ips, changed))
        if len(new_fams) == 1 and spec.get("ipFamilyPolicy") != SINGLE_STACK:
            errs.append(
                invalid(
                    POLICY,
                    spec.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_fams and new_fams and new_fams[0] != old_fams[0]:
        errs.append(invalid(first, shown_ips, changed))
    return errs
