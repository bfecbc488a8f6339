"""Pod strategy: defaulting, validation and graceful deletion (pure).

Mirrors upstream's pod registry strategy and the defaults kube-apiserver
fills on create (API defaulting plus the ServiceAccount admission's
serviceAccountName). The node agent later owns the pod's status.
"""

from __future__ import annotations

from typing import Any

from svcnet.api.validation import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    is_dns1123_label,
    not_supported,
    required,
)

Obj = dict[str, Any]
DEFAULT_GRACE = 30


def _image_pull_policy(image: str) -> str:
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    if ":" not in name or name.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if c.get("image"):
        c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            pr.setdefault("timeoutSeconds", 1)
            pr.setdefault("periodSeconds", 10)
            pr.setdefault("successThreshold", 1)
            pr.setdefault("failureThreshold", 3)
            if isinstance(pr.get("httpGet"), dict):
                pr["httpGet"].setdefault("path", "/")
                pr["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec: Obj) -> None:
    """API defaults of a PodSpec (also used inside workload templates)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", DEFAULT_GRACE)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if isinstance(c, dict):
            default_container(c)


def default(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    default_pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    # ServiceAccount admission: every pod runs as a service account.
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    tolerations = spec.setdefault("tolerations", [])
    # DefaultTolerationSeconds admission (upstream: 300 s for not-ready/unreachable).
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations if isinstance(t, dict)):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def qos_class(spec: Obj) -> str:
    """Upstream QoS class: Guaranteed, Burstable or BestEffort."""
    containers = (spec.get("containers") or []) + (spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or (r in req and req[r] != lim[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def prepare_create(obj: Obj) -> None:
    obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}


def validate_containers(containers: Any, path: str, require: bool = True) -> list[FieldError]:
    errs: list[FieldError] = []
    if not containers:
        if require:
            errs.append(required(path, ""))
        return errs
    seen: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        name = c.get("name", "")
        if not name:
            errs.append(required(f"{p}.name", ""))
        else:
            for msg in is_dns1123_label(name):
                errs.append(invalid(f"{p}.name", name, msg))
            if name in seen:
                errs.append(duplicate(f"{p}.name", name))
            seen.add(name)
        if not c.get("image"):
            errs.append(required(f"{p}.image", ""))
        ports_seen: set[tuple[int, str]] = set()
        for j, port in enumerate(c.get("ports") or []):
            cp = port.get("containerPort")
            pp = f"{p}.ports[{j}]"
            if not isinstance(cp, int) or not 1 <= cp <= 65535:
                errs.append(
                    invalid(f"{pp}.containerPort", cp, "must be between 1 and 65535, inclusive")
                )
            proto = port.get("protocol", "TCP")
            if proto not in ("TCP", "UDP", "SCTP"):
                errs.append(not_supported(f"{pp}.protocol", proto, ["SCTP", "TCP", "UDP"]))
            if (cp, proto) in ports_seen:
                errs.append(duplicate(pp, f"{cp}/{proto}"))
            ports_seen.add((cp, proto))
    return errs


def validate_pod_spec(spec: Obj, path: str = "spec") -> list[FieldError]:
    errs = validate_containers(spec.get("containers"), f"{path}.containers")
    errs += validate_containers(spec.get("initContainers"), f"{path}.initContainers", require=False)
    rp = spec.get("restartPolicy", "Always")
    if rp not in ("Always", "OnFailure", "Never"):
        errs.append(not_supported(f"{path}.restartPolicy", rp, ["Always", "Never", "OnFailure"]))
    dp = spec.get("dnsPolicy", "ClusterFirst")
    if dp not in ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"):
        errs.append(
            not_supported(
                f"{path}.dnsPolicy",
                dp,
                ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
            )
        )
    if dp == "None" and not (spec.get("dnsConfig") or {}).get("nameservers"):
        errs.append(
            required(
                f"{path}.dnsConfig.nameservers",
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
        )
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        errs.append(
            invalid(
                f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"
            )
        )
    return errs


def validate(obj: Obj) -> list[FieldError]:
    return validate_pod_spec(obj.get("spec") or {})


def _mutable_view(spec: Obj) -> Obj:
    s = dict(spec)
    for k in ("containers", "initContainers"):
        s[k] = [{kk: vv for kk, vv in c.items() if kk != "image"} for c in spec.get(k) or []]
    s.pop("activeDeadlineSeconds", None)
    s.pop("tolerations", None)
    s.pop("terminationGracePeriodSeconds", None)
    if not spec.get("nodeName"):
        s.pop("nodeName", None)
    return s


def validate_update(obj: Obj, old: Obj) -> list[FieldError]:
    """Upstream: a pod's spec is immutable but for images, activeDeadlineSeconds
    and additions to tolerations."""
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    nv, ov = _mutable_view(new_spec), _mutable_view(old_spec)
    if not old_spec.get("nodeName"):
        nv.pop("nodeName", None)
    if nv != ov:
        return [
            forbidden(
                "spec",
                "pod updates may not change fields other than `spec.containers[*].image`, "
                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                "`spec.tolerations` (only additions to existing tolerations), "
                "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
            )
        ]
    if old_spec.get("nodeName") and new_spec.get("nodeName") != old_spec.get("nodeName"):
        return [forbidden("spec.nodeName", "field is immutable")]
    return []


def grace_period(obj: Obj, requested: int | None) -> int:
    """Seconds of graceful deletion (upstream pod strategy CheckGracefulDelete):
    unscheduled or terminal pods go at once; others wait for their kubelet."""
    spec = obj.get("spec") or {}
    phase = (obj.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    if requested is not None:
        return max(0, requested)
    g = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    return max(0, int(g)) if isinstance(g, int) else DEFAULT_GRACE
