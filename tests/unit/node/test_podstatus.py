"""Pod status and restart decisions, by the kubelet's rules.

Rules checked (kubernetes ``pkg/kubelet``): ``getPhase`` (kubelet_pods.go),
``GenerateContainersReadyCondition`` / ``GeneratePodReadyCondition`` /
``GeneratePodInitializedCondition`` (status/generate.go), the status
manager keeping ``lastTransitionTime`` while a condition's status holds,
``ShouldContainerBeRestarted`` (container/helpers.go), ``doBackOff``
(kuberuntime_manager.go) with client-go ``flowcontrol.Backoff`` (10 s
doubling to 5 min, reset after 2x max without an update).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from svcnet.node.podstatus import (
    ALWAYS,
    CRASH_LOOP_BACK_OFF,
    NEVER,
    ON_FAILURE,
    ContainerView,
    CrashLoopBackOff,
    PodStatusInput,
    Running,
    Terminated,
    Waiting,
    container_status,
    decide,
    exit_code,
    generate_pod_status,
    go_duration,
    pod_is_terminal,
    pod_phase,
    rfc3339,
    should_restart,
    status_differs,
    terminated_reason,
)

T0 = 1_800_000_000.0


def running(name: str = "c", ready: bool = True) -> ContainerView:
    return ContainerView(
        name, "img", Running(T0), ready=ready, started=True, container_id="svcnet://1"
    )


def exited(name: str = "c", code: int = 0) -> ContainerView:
    return ContainerView(name, "img", Terminated(code, terminated_reason(code), T0, T0 + 1))


def crashlooping(name: str = "c", code: int = 1) -> ContainerView:
    last = Terminated(code, terminated_reason(code), T0, T0 + 1)
    return ContainerView(name, "img", Waiting(CRASH_LOOP_BACK_OFF, "back-off"), last, 1)


def waiting(name: str = "c", reason: str = "ContainerCreating") -> ContainerView:
    return ContainerView(name, "img", Waiting(reason))


# --- phase ---------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseCase:
    id: str
    policy: str
    containers: list[ContainerView]
    want: str
    init: list[ContainerView] = field(default_factory=list)
    terminal: bool = False


PHASE_CASES = [
    PhaseCase(
        "getPhase: a container that never started -> Pending",
        ALWAYS,
        [running("a"), waiting("b")],
        "Pending",
    ),
    PhaseCase(
        "getPhase: all started, one running -> Running",
        NEVER,
        [running("a"), exited("b", 0)],
        "Running",
    ),
    PhaseCase(
        "getPhase: all exited 0, Always restarts them -> Running",
        ALWAYS,
        [exited("a", 0)],
        "Running",
    ),
    PhaseCase(
        "getPhase: all exited 0, OnFailure -> Succeeded",
        ON_FAILURE,
        [exited("a", 0), exited("b", 0)],
        "Succeeded",
    ),
    PhaseCase("getPhase: all exited 0, Never -> Succeeded", NEVER, [exited("a", 0)], "Succeeded"),
    PhaseCase(
        "getPhase: one failed, Never -> Failed", NEVER, [exited("a", 0), exited("b", 2)], "Failed"
    ),
    PhaseCase(
        "getPhase: one failed, OnFailure restarts it -> Running",
        ON_FAILURE,
        [exited("a", 2)],
        "Running",
    ),
    PhaseCase(
        "getPhase: waiting after a termination (CrashLoopBackOff) counts as stopped",
        ALWAYS,
        [crashlooping("a")],
        "Running",
    ),
    PhaseCase(
        "getPhase: CrashLoopBackOff next to a never-started container -> Pending",
        ALWAYS,
        [crashlooping("a"), waiting("b")],
        "Pending",
    ),
    PhaseCase(
        "getPhase: terminal pod (deleted), all exited 0 -> Succeeded even for Always",
        ALWAYS,
        [exited("a", 0)],
        "Succeeded",
        terminal=True,
    ),
    PhaseCase(
        "getPhase: terminal pod (deleted), SIGTERM exit 143 -> Failed",
        ALWAYS,
        [exited("a", 143)],
        "Failed",
        terminal=True,
    ),
    PhaseCase(
        "getPhase: init container still running -> Pending",
        ALWAYS,
        [waiting("a", "PodInitializing")],
        "Pending",
        init=[running("i")],
    ),
    PhaseCase(
        "getPhase: failed init container with restartPolicy Never -> Failed",
        NEVER,
        [waiting("a", "PodInitializing")],
        "Failed",
        init=[exited("i", 1)],
    ),
    PhaseCase(
        "getPhase: init containers done -> phase of the containers",
        ALWAYS,
        [running("a")],
        "Running",
        init=[exited("i", 0)],
    ),
    PhaseCase("getPhase: no containers known -> Pending", ALWAYS, [], "Pending"),
]


@pytest.mark.parametrize("case", PHASE_CASES, ids=lambda c: c.id)
def test_pod_phase(case: PhaseCase) -> None:
    assert pod_phase(case.policy, case.containers, case.init, case.terminal) == case.want


# --- restart policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "code", "want"),
    [
        (ALWAYS, 0, True),
        (ALWAYS, 1, True),
        (ON_FAILURE, 0, False),
        (ON_FAILURE, 137, True),
        (NEVER, 0, False),
        (NEVER, 1, False),
    ],
    ids=lambda v: str(v),
)
def test_should_container_be_restarted(policy: str, code: int, want: bool) -> None:
    assert should_restart(policy, code) is want


@pytest.mark.parametrize(
    ("policy", "codes", "want"),
    [
        (NEVER, [0, 1], True),
        (ON_FAILURE, [0, 0], True),
        (ON_FAILURE, [0, 1], False),
        (ALWAYS, [0], False),
    ],
    ids=[
        "Never: all exited",
        "OnFailure: all succeeded",
        "OnFailure: one restarts",
        "Always never ends",
    ],
)
def test_pod_is_terminal(policy: str, codes: list[int], want: bool) -> None:
    terms = [Terminated(c, terminated_reason(c), T0, T0 + 1) for c in codes]
    assert pod_is_terminal(policy, terms) is want


def test_pod_with_a_running_container_is_not_terminal() -> None:
    assert not pod_is_terminal(NEVER, [None, Terminated(0, "Completed", T0, T0)])


# --- crash loop back-off -----------------------------------------------------------------


@dataclass(frozen=True)
class Crash:
    """The container exits ``after`` seconds after the previous decision time."""

    at: float  # seconds since T0 when the sync runs
    finished: float  # seconds since T0 when it last exited
    want: str  # action
    delay: float | None = None  # the back-off it reports when waiting


BACKOFF_STEPS = [
    Crash(1, 1, "start"),  # doBackOff: first crash restarts at once (no entry yet)
    Crash(2, 2, "backoff", 10),  # second crash within 10 s: CrashLoopBackOff 10s
    Crash(11.9, 2, "backoff", 10),
    Crash(12.1, 2, "start"),  # 10 s after the exit: restart, delay doubles
    Crash(13, 13, "backoff", 20),
    Crash(33.5, 13, "start"),
    Crash(34, 34, "backoff", 40),
    Crash(75, 34, "start"),
    Crash(76, 76, "backoff", 80),
    Crash(157, 76, "start"),
    Crash(158, 158, "backoff", 160),
    Crash(319, 158, "start"),
    Crash(320, 320, "backoff", 300),  # capped at 5 minutes
    Crash(621, 320, "start"),
    Crash(622, 622, "backoff", 300),
    # more than 2 x 5 min without a crash: the back-off starts over
    Crash(2000, 2000, "start"),
    Crash(2001, 2001, "backoff", 10),
]


def test_crash_loop_back_off_doubles_to_five_minutes_and_resets() -> None:
    b = CrashLoopBackOff()
    for step in BACKOFF_STEPS:
        last = Terminated(1, "Error", T0, T0 + step.finished)
        d = decide(ALWAYS, False, last, b, "uid/c", T0 + step.at, "c", "p_ns(uid)")
        assert d.action == step.want, step
        if step.delay is not None:
            assert d.until == pytest.approx(T0 + step.finished + step.delay), step
            assert (
                d.message
                == f"back-off {go_duration(step.delay)} restarting failed container=c pod=p_ns(uid)"
            )


@pytest.mark.parametrize(
    ("policy", "running_", "last", "want"),
    [
        (ALWAYS, True, None, "keep"),
        (ALWAYS, False, None, "start"),
        (NEVER, False, Terminated(1, "Error", T0, T0), "done"),
        (ON_FAILURE, False, Terminated(0, "Completed", T0, T0), "done"),
        (ON_FAILURE, False, Terminated(1, "Error", T0, T0), "start"),
    ],
    ids=[
        "computePodActions: running container is kept",
        "computePodActions: never-started container starts",
        "Never: an exited container stays down",
        "OnFailure: exit 0 stays down",
        "OnFailure: a failure restarts (first one at once)",
    ],
)
def test_decide(policy: str, running_: bool, last: Terminated | None, want: str) -> None:
    assert decide(policy, running_, last, CrashLoopBackOff(), "k", T0 + 5).action == want


@pytest.mark.parametrize(
    ("seconds", "want"),
    [(10, "10s"), (20, "20s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"), (3600, "1h0m0s")],
)
def test_go_duration(seconds: float, want: str) -> None:
    assert go_duration(seconds) == want


@pytest.mark.parametrize(
    ("returncode", "code", "reason"),
    [(0, 0, "Completed"), (3, 3, "Error"), (-15, 143, "Error"), (-9, 137, "Error")],
    ids=["exit 0", "exit 3", "SIGTERM -> 143", "SIGKILL -> 137"],
)
def test_exit_codes(returncode: int, code: int, reason: str) -> None:
    assert exit_code(returncode) == code
    assert terminated_reason(code) == reason


# --- conditions and the status object ----------------------------------------------------


def pod(containers: list[str], status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {"containers": [{"name": n, "image": "img"} for n in containers], **spec},
        "status": status or {},
    }


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


@dataclass(frozen=True)
class CondCase:
    id: str
    containers: list[ContainerView]
    spec_names: list[str]
    ready: tuple[str, str, str]  # status, reason, message of ContainersReady
    policy: str = ALWAYS


COND_CASES = [
    CondCase(
        "GenerateContainersReadyCondition: all ready -> True",
        [running("a")],
        ["a"],
        ("True", "", ""),
    ),
    CondCase(
        "GenerateContainersReadyCondition: unready containers are named",
        [running("a", ready=False), running("b")],
        ["a", "b"],
        ("False", "ContainersNotReady", "containers with unready status: [a]"),
    ),
    CondCase(
        "GenerateContainersReadyCondition: unknown and unready",
        [waiting("a")],
        ["a", "b"],
        (
            "False",
            "ContainersNotReady",
            "containers with unknown status: [b], containers with unready status: [a]",
        ),
    ),
    CondCase(
        "GenerateContainersReadyCondition: Succeeded pod -> PodCompleted",
        [exited("a", 0)],
        ["a"],
        ("False", "PodCompleted", ""),
        ON_FAILURE,
    ),
]


@pytest.mark.parametrize("case", COND_CASES, ids=lambda c: c.id)
def test_ready_conditions(case: CondCase) -> None:
    st = generate_pod_status(
        PodStatusInput(pod(case.spec_names, restartPolicy=case.policy), case.containers, now=T0)
    )
    for ctype in ("ContainersReady", "Ready"):
        c = conditions(st)[ctype]
        assert (c["status"], c.get("reason", ""), c.get("message", "")) == case.ready


def test_status_shape_and_condition_order() -> None:
    st = generate_pod_status(
        PodStatusInput(
            pod(["a"]),
            [running("a")],
            pod_ips=["10.244.1.5"],
            host_ips=["172.18.0.11"],
            sandbox_ready=True,
            now=T0,
        )
    )
    assert [c["type"] for c in st["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert st["phase"] == "Running"
    assert st["podIP"] == "10.244.1.5" and st["podIPs"] == [{"ip": "10.244.1.5"}]
    assert st["hostIP"] == "172.18.0.11" and st["hostIPs"] == [{"ip": "172.18.0.11"}]
    assert st["startTime"] == rfc3339(T0)
    cs = st["containerStatuses"][0]
    assert cs["state"] == {"running": {"startedAt": rfc3339(T0)}}
    assert cs["lastState"] == {}  # the API's empty ContainerState before a restart
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0


def test_status_manager_keeps_transition_time_while_status_holds() -> None:
    old = {
        "startTime": "2020-01-01T00:00:00Z",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2020-01-01T00:00:05Z"},
            {
                "type": "ContainersReady",
                "status": "True",
                "lastTransitionTime": "2020-01-01T00:00:05Z",
            },
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": "2020-01-01T00:00:00Z",
            },
            {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"},
        ],
    }
    same = conditions(generate_pod_status(PodStatusInput(pod(["a"], old), [running("a")], now=T0)))
    assert same["Ready"]["lastTransitionTime"] == "2020-01-01T00:00:05Z"
    assert same["PodScheduled"]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    assert same["DisruptionTarget"]["reason"] == "EvictionByEvictionAPI"  # not ours: kept
    flipped = generate_pod_status(
        PodStatusInput(pod(["a"], old), [running("a", ready=False)], now=T0)
    )
    assert conditions(flipped)["Ready"]["lastTransitionTime"] == rfc3339(T0)
    assert flipped["startTime"] == "2020-01-01T00:00:00Z"


def test_initialized_condition_names_incomplete_init_containers() -> None:
    p = pod(["a"])
    p["spec"]["initContainers"] = [{"name": "i1", "image": "img"}, {"name": "i2", "image": "img"}]
    st = generate_pod_status(
        PodStatusInput(
            p, [waiting("a", "PodInitializing")], [exited("i1", 0), running("i2")], now=T0
        )
    )
    init = conditions(st)["Initialized"]
    assert (init["status"], init["reason"], init["message"]) == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [i2]",
    )
    assert [s["name"] for s in st["initContainerStatuses"]] == ["i1", "i2"]


def test_readiness_gates_hold_ready_but_not_containers_ready() -> None:
    p = pod(["a"], readinessGates=[{"conditionType": "example.com/lb"}])
    st = conditions(generate_pod_status(PodStatusInput(p, [running("a")], now=T0)))
    assert st["ContainersReady"]["status"] == "True"
    assert st["Ready"]["status"] == "False"
    assert st["Ready"]["reason"] == "ReadinessGatesNotReady"
    assert 'readiness gate "example.com/lb" does not exist' in st["Ready"]["message"]


def test_crash_loop_container_status() -> None:
    cs = container_status(crashlooping("a", 3))
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}
    term = cs["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert cs["restartCount"] == 1 and cs["ready"] is False


def test_status_differs_ignores_nulls_the_api_drops() -> None:
    computed = {"conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}]}
    echoed = {"conditions": [{"type": "Ready", "status": "True"}], "qosClass": "BestEffort"}
    assert not status_differs(computed, echoed)
    assert status_differs({"phase": "Running"}, {"phase": "Pending"})
    assert status_differs({"phase": "Running"}, None)
