"""Workload strategies: Deployment, ReplicaSet, NetworkPolicy (pure).

Upstream apps/v1 defaults (replicas 1, RollingUpdate 25 %/25 %,
revisionHistoryLimit 10, progressDeadlineSeconds 600) and validation of the
selector against the pod template labels.
"""

from __future__ import annotations

from typing import Any

from svcnet.api.pods import default_pod_spec, validate_pod_spec
from svcnet.api.selectors import SelectorError, selector_from_label_selector_object
from svcnet.api.validation import FieldError, invalid, required

Obj = dict[str, Any]


def _default_template(spec: Obj) -> None:
    tmpl = spec.setdefault("template", {})
    tmpl.setdefault("metadata", {})
    default_pod_spec(tmpl.setdefault("spec", {}))


def default_deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _default_template(spec)


def default_replicaset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _default_template(spec)


def default_networkpolicy(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def _validate_workload(obj: Obj, kind: str) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errs: list[FieldError] = []
    replicas = spec.get("replicas", 1)
    if isinstance(replicas, int) and replicas < 0:
        errs.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
    sel_obj = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if sel_obj is None:
        errs.append(required("spec.selector", ""))
    else:
        try:
            sel = selector_from_label_selector_object(sel_obj)
        except SelectorError as e:
            errs.append(invalid("spec.selector", sel_obj, str(e)))
            sel = None
        if sel is not None:
            if sel.empty:
                errs.append(
                    invalid("spec.selector", sel_obj, f"empty selector is invalid for {kind}")
                )
            elif not sel.matches(labels):
                errs.append(
                    invalid(
                        "spec.template.metadata.labels",
                        labels,
                        "`selector` does not match template `labels`",
                    )
                )
    tmpl_spec = (spec.get("template") or {}).get("spec") or {}
    errs += validate_pod_spec(tmpl_spec, "spec.template.spec")
    rp = tmpl_spec.get("restartPolicy", "Always")
    if rp != "Always":
        from svcnet.api.validation import not_supported

        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ["Always"]))
    return errs


def validate_deployment(obj: Obj) -> list[FieldError]:
    errs = _validate_workload(obj, "deployment")
    strategy = (obj.get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate" and strategy.get("rollingUpdate"):
        from svcnet.api.validation import forbidden

        errs.append(
            forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )
        )
    return errs


def validate_replicaset(obj: Obj) -> list[FieldError]:
    return _validate_workload(obj, "replicaset")


def validate_selector_immutable(obj: Obj, old: Obj) -> list[FieldError]:
    new_sel = (obj.get("spec") or {}).get("selector")
    old_sel = (old.get("spec") or {}).get("selector")
    if new_sel != old_sel:
        return [invalid("spec.selector", new_sel, "field is immutable")]
    return []
