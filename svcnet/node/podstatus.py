"""Pod status from container states, and restart decisions (pure).

Theory of operation. The node agent keeps, per container, a `ContainerView`:
the current state (`Waiting`, `Running` or `Terminated`), the previous
termination, the restart count and readiness. `generate_pod_status` turns
those views into the API ``status`` the kubelet writes
(``generateAPIPodStatus`` + the status manager):

- ``phase`` by upstream ``getPhase``: any waiting container (one that never
  ran) -> Pending; all started and one running -> Running; all stopped ->
  Running for restartPolicy Always (they restart), Succeeded when all exited
  0, Failed for Never, Running for OnFailure (the failed ones restart). A
  waiting container that has terminated before (CrashLoopBackOff) counts as
  stopped, not waiting. A pod the agent finished (``terminal``: deleted, or
  nothing will ever restart) is Succeeded when all exited 0, else Failed.
- conditions in upstream order PodReadyToStartContainers, Initialized,
  Ready, ContainersReady, PodScheduled, with upstream reasons and messages
  (``containers with unready status: [web]``); a condition keeps its
  ``lastTransitionTime`` while its status does not change.
- ``containerStatuses`` in spec order; ``state``/``lastState`` as the API
  shapes them (``lastState`` is ``{}`` before the first restart).

Restart decisions mirror kubelet's ``computePodActions`` + ``doBackOff``:
`decide` says whether a container runs, starts, stays down for good or
waits in CrashLoopBackOff; `CrashLoopBackOff` is client-go's
``flowcontrol.Backoff`` as the kubelet configures it (10 s doubling to
5 min, reset after 10 min without a crash; the first restart is immediate).

Invariants: nothing here reads a clock or does I/O; times are float epoch
seconds passed in, rendered as RFC 3339 seconds like ``metav1.Time``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

Obj = Mapping[str, Any]

# restart policies
ALWAYS: Final = "Always"
ON_FAILURE: Final = "OnFailure"
NEVER: Final = "Never"

# phases
PENDING: Final = "Pending"
RUNNING: Final = "Running"
SUCCEEDED: Final = "Succeeded"
FAILED: Final = "Failed"
TERMINAL_PHASES: Final = (SUCCEEDED, FAILED)

# waiting reasons (kubelet / container runtime wording)
CONTAINER_CREATING: Final = "ContainerCreating"
POD_INITIALIZING: Final = "PodInitializing"
CRASH_LOOP_BACK_OFF: Final = "CrashLoopBackOff"
CREATE_CONTAINER_CONFIG_ERROR: Final = "CreateContainerConfigError"
IMAGE_NOT_SUPPORTED: Final = "ImageNotSupported"
RUN_CONTAINER_ERROR: Final = "RunContainerError"

# terminated reasons
COMPLETED: Final = "Completed"
ERROR: Final = "Error"
START_ERROR: Final = "StartError"
CONTAINER_STATUS_UNKNOWN: Final = "ContainerStatusUnknown"

# condition types, in the order the kubelet writes them
POD_READY_TO_START: Final = "PodReadyToStartContainers"
INITIALIZED: Final = "Initialized"
READY: Final = "Ready"
CONTAINERS_READY: Final = "ContainersReady"
POD_SCHEDULED: Final = "PodScheduled"

CONTAINERS_NOT_READY: Final = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED: Final = "ContainersNotInitialized"
POD_COMPLETED: Final = "PodCompleted"

BACKOFF_INITIAL: Final = 10.0
BACKOFF_MAX: Final = 300.0


# --- model -------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    reason: str = CONTAINER_CREATING
    message: str = ""


@dataclass(frozen=True)
class Running:
    started_at: float


@dataclass(frozen=True)
class Terminated:
    exit_code: int
    reason: str
    started_at: float | None
    finished_at: float
    message: str = ""
    signal: int | None = None
    container_id: str = ""


ContainerState = Waiting | Running | Terminated


@dataclass(frozen=True)
class ContainerView:
    """What the agent knows of one container of a pod."""

    name: str
    image: str = ""
    state: ContainerState = field(default_factory=Waiting)
    last_state: Terminated | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    container_id: str = ""

    @property
    def has_run(self) -> bool:
        """It ran before: a waiting container then counts as stopped (getPhase)."""
        return self.last_state is not None


# --- small rules ---------------------------------------------------------------


def rfc3339(ts: float) -> str:
    """``metav1.Time`` wire format (seconds, UTC)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exit_code(returncode: int) -> int:
    """A container exit code from a Popen returncode: killed by signal N -> 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def terminated_reason(code: int) -> str:
    """containerd's reason for a normal exit: Completed for 0, else Error."""
    return COMPLETED if code == 0 else ERROR


def should_restart(restart_policy: str, code: int) -> bool:
    """Whether an exited container restarts (upstream ``ShouldContainerBeRestarted``)."""
    if restart_policy == NEVER:
        return False
    if restart_policy == ON_FAILURE:
        return code != 0
    return True


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String`` for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{sec}s"
    if m:
        return f"{m}m{sec}s"
    return f"{sec}s"


def pod_description(pod: Obj) -> str:
    """``name_namespace(uid)`` as the kubelet formats a pod in messages."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


# --- crash loop back-off ---------------------------------------------------------


@dataclass
class _Entry:
    backoff: float
    last_update: float


class CrashLoopBackOff:
    """Per-container restart back-off (client-go ``flowcontrol.Backoff``).

    `in_backoff_since` asks whether a container that exited at
    ``event_time`` must still wait; `next` records a restart and doubles
    the delay. An entry untouched for twice the maximum starts over.
    """

    def __init__(self, initial: float = BACKOFF_INITIAL, maximum: float = BACKOFF_MAX) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, event_time: float) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        """The current delay of ``key`` (0 when it has none)."""
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def in_backoff_since(self, key: str, event_time: float, now: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return now - event_time < entry.backoff

    def next(self, key: str, event_time: float, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            entry = self._entries[key] = _Entry(self.initial, now)
        else:
            entry.backoff = min(entry.backoff * 2, self.maximum)
        entry.last_update = now

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self, now: float) -> None:
        """Drop entries not updated for twice the maximum (upstream GC)."""
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]


@dataclass(frozen=True)
class Decision:
    """What to do with one container now.

    action: ``keep`` (running), ``start`` (never ran, or restart now),
    ``done`` (exited, never restarts), ``backoff`` (wait until ``until``).
    """

    action: str
    until: float | None = None
    message: str = ""


KEEP: Final = Decision("keep")
START: Final = Decision("start")
DONE: Final = Decision("done")


def decide(
    restart_policy: str,
    running: bool,
    last: Terminated | None,
    backoff: CrashLoopBackOff,
    key: str,
    now: float,
    container: str = "",
    pod: str = "",
) -> Decision:
    """Restart decision for one container (kubelet computePodActions + doBackOff).

    Side effect, as upstream: a restart that is allowed now is recorded in
    ``backoff`` (`CrashLoopBackOff.next`), which lengthens the next wait.
    """
    if running:
        return KEEP
    if last is None:
        return START
    if not should_restart(restart_policy, last.exit_code):
        return DONE
    if backoff.in_backoff_since(key, last.finished_at, now):
        delay = backoff.get(key)
        return Decision(
            "backoff",
            until=last.finished_at + delay,
            message=f"back-off {go_duration(delay)} restarting failed container={container} pod={pod}",
        )
    backoff.next(key, last.finished_at, now)
    return START


def pod_is_terminal(restart_policy: str, terminations: Sequence[Terminated | None]) -> bool:
    """Every container exited and none will restart (so the pod is finished).

    ``terminations`` holds, per container, its latest termination or None
    while it runs (or never ran).
    """
    if not terminations:
        return False
    return all(
        t is not None and not should_restart(restart_policy, t.exit_code) for t in terminations
    )


# --- status generation -------------------------------------------------------------


def _state_dict(state: ContainerState | None) -> dict[str, Any]:
    if state is None:
        return {}
    if isinstance(state, Waiting):
        w: dict[str, Any] = {"reason": state.reason}
        if state.message:
            w["message"] = state.message
        return {"waiting": w}
    if isinstance(state, Running):
        return {"running": {"startedAt": rfc3339(state.started_at)}}
    t: dict[str, Any] = {"exitCode": state.exit_code, "reason": state.reason}
    if state.signal:
        t["signal"] = state.signal
    if state.message:
        t["message"] = state.message
    t["startedAt"] = rfc3339(state.started_at) if state.started_at is not None else None
    t["finishedAt"] = rfc3339(state.finished_at)
    if state.container_id:
        t["containerID"] = state.container_id
    return {"terminated": t}


def container_status(view: ContainerView) -> dict[str, Any]:
    """One entry of ``status.containerStatuses``."""
    out: dict[str, Any] = {
        "name": view.name,
        "state": _state_dict(view.state),
        "lastState": _state_dict(view.last_state),
        "ready": view.ready,
        "restartCount": view.restart_count,
        "image": view.image,
        "imageID": view.image if view.container_id else "",
        "started": view.started,
    }
    if view.container_id:
        out["containerID"] = view.container_id
    return out


def pod_phase(
    restart_policy: str,
    containers: Sequence[ContainerView],
    init_containers: Sequence[ContainerView] = (),
    terminal: bool = False,
) -> str:
    """Upstream ``getPhase`` (see module docstring)."""
    pending_init = 0
    failed_init = 0
    for c in init_containers:
        st = c.state
        if isinstance(st, Terminated) and st.exit_code == 0:
            continue
        if isinstance(st, Terminated) or (isinstance(st, Waiting) and c.has_run):
            failed_init += 1
        pending_init += 1
    if failed_init and restart_policy == NEVER:
        return FAILED

    running = waiting = stopped = succeeded = 0
    for c in containers:
        st = c.state
        if isinstance(st, Running):
            running += 1
        elif isinstance(st, Terminated):
            stopped += 1
            succeeded += 1 if st.exit_code == 0 else 0
        elif c.has_run:
            stopped += 1
        else:
            waiting += 1

    if pending_init or waiting:
        return PENDING
    if running:
        return RUNNING
    if stopped:
        if terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if restart_policy == ALWAYS:
            return RUNNING
        if stopped == succeeded:
            return SUCCEEDED
        if restart_policy == NEVER:
            return FAILED
        return RUNNING
    return PENDING


def _init_done(view: ContainerView | None) -> bool:
    return view is not None and isinstance(view.state, Terminated) and view.state.exit_code == 0


def _names(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


def _ready_condition(
    phase: str, containers: Sequence[ContainerView], spec_names: Sequence[str]
) -> tuple[str, str, str]:
    """(status, reason, message) of ContainersReady / Ready (upstream GenerateContainersReadyCondition)."""
    known = {c.name for c in containers}
    unknown = [n for n in spec_names if n not in known]
    unready = [c.name for c in containers if not c.ready]
    if phase == SUCCEEDED and not unknown:
        return "False", POD_COMPLETED, ""
    parts = []
    if unknown:
        parts.append(f"containers with unknown status: {_names(unknown)}")
    if unready:
        parts.append(f"containers with unready status: {_names(unready)}")
    if parts:
        return "False", CONTAINERS_NOT_READY, ", ".join(parts)
    return "True", "", ""


def _gates(pod: Obj, old: Mapping[str, Obj]) -> tuple[bool, str]:
    """Readiness gates: all their conditions True? (with upstream's message when not)."""
    missing, false = [], []
    for gate in (pod.get("spec") or {}).get("readinessGates") or ():
        ctype = gate.get("conditionType", "")
        cond = old.get(ctype)
        if cond is None:
            missing.append(ctype)
        elif cond.get("status") != "True":
            false.append(ctype)
    msgs = [f'corresponding condition of pod readiness gate "{t}" does not exist.' for t in missing]
    msgs += [f'the status of pod readiness gate "{t}" is not "True", but False' for t in false]
    return not msgs, " ".join(msgs)


def _condition(
    ctype: str, status: str, old: Mapping[str, Obj], now: float, reason: str = "", message: str = ""
) -> dict[str, Any]:
    prev = old.get(ctype)
    since = (
        prev.get("lastTransitionTime")
        if prev is not None and prev.get("status") == status and prev.get("lastTransitionTime")
        else rfc3339(now)
    )
    cond: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None}
    cond["lastTransitionTime"] = since
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


@dataclass(frozen=True)
class PodStatusInput:
    """Everything `generate_pod_status` needs about one pod."""

    pod: Obj  # the API object: spec, and the status it has now
    containers: Sequence[ContainerView]
    init_containers: Sequence[ContainerView] = ()
    pod_ips: Sequence[str] = ()
    host_ips: Sequence[str] = ()
    sandbox_ready: bool = False
    terminal: bool = False
    now: float = 0.0
    start_time: float | None = None  # when the agent first saw the pod (status.startTime)


def generate_pod_status(inp: PodStatusInput) -> dict[str, Any]:
    """The pod's API ``status`` (upstream generateAPIPodStatus; see module docstring)."""
    pod = inp.pod
    spec = pod.get("spec") or {}
    old_status = pod.get("status") or {}
    old = {c.get("type", ""): c for c in old_status.get("conditions") or ()}
    policy = spec.get("restartPolicy") or ALWAYS
    spec_names = [c.get("name", "") for c in spec.get("containers") or ()]
    init_names = [c.get("name", "") for c in spec.get("initContainers") or ()]
    phase = pod_phase(policy, inp.containers, inp.init_containers, inp.terminal)

    conditions = [_condition(POD_READY_TO_START, _bool(inp.sandbox_ready), old, inp.now)]
    init_by_name = {c.name: c for c in inp.init_containers}
    incomplete = [n for n in init_names if not _init_done(init_by_name.get(n))]
    if incomplete and phase != SUCCEEDED:
        conditions.append(
            _condition(
                INITIALIZED,
                "False",
                old,
                inp.now,
                CONTAINERS_NOT_INITIALIZED,
                f"containers with incomplete status: {_names(incomplete)}",
            )
        )
    else:
        conditions.append(_condition(INITIALIZED, "True", old, inp.now))

    status, reason, message = _ready_condition(phase, inp.containers, spec_names)
    gates_ok, gates_msg = _gates(pod, old)
    if status == "True" and not gates_ok:
        conditions.append(
            _condition(READY, "False", old, inp.now, "ReadinessGatesNotReady", gates_msg)
        )
    else:
        conditions.append(_condition(READY, status, old, inp.now, reason, message))
    conditions.append(_condition(CONTAINERS_READY, status, old, inp.now, reason, message))
    sched = old.get(POD_SCHEDULED)
    conditions.append(dict(sched) if sched else _condition(POD_SCHEDULED, "True", old, inp.now))
    # Conditions other controllers own (readiness gates, DisruptionTarget) stay.
    ours = {POD_READY_TO_START, INITIALIZED, READY, CONTAINERS_READY, POD_SCHEDULED}
    conditions += [dict(c) for t, c in old.items() if t not in ours]

    out: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if inp.host_ips:
        out["hostIP"] = inp.host_ips[0]
        out["hostIPs"] = [{"ip": ip} for ip in inp.host_ips]
    if inp.pod_ips:
        out["podIP"] = inp.pod_ips[0]
        out["podIPs"] = [{"ip": ip} for ip in inp.pod_ips]
    start = inp.start_time if inp.start_time is not None else inp.now
    out["startTime"] = old_status.get("startTime") or rfc3339(start)
    by_name = {c.name: c for c in inp.containers}
    images = {c.get("name", ""): c.get("image", "") for c in spec.get("containers") or ()}
    out["containerStatuses"] = [
        container_status(by_name.get(n) or ContainerView(n, images.get(n, ""))) for n in spec_names
    ]
    if init_names:
        init_images = {
            c.get("name", ""): c.get("image", "") for c in spec.get("initContainers") or ()
        }
        out["initContainerStatuses"] = [
            container_status(init_by_name.get(n) or ContainerView(n, init_images.get(n, "")))
            for n in init_names
        ]
    if old_status.get("qosClass"):
        out["qosClass"] = old_status["qosClass"]
    return out


def _bool(v: bool) -> str:
    return "True" if v else "False"


def strip_none(value: Any) -> Any:
    """A copy without null map values, to compare a status with what the API echoes."""
    if isinstance(value, Mapping):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [strip_none(v) for v in value]
    return value


def status_differs(computed: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether writing ``computed`` would change the fields of ``current`` it sets."""
    current = current or {}
    return any(strip_none(v) != strip_none(current.get(k)) for k, v in computed.items())
