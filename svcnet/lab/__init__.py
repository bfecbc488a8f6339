"""The lab: a whole cluster's network built from Linux network namespaces.

- `svcnet.lab.topology` (pure): `plan_topology` -> `Topology`, naming rules,
  host-gw route computation.
- `svcnet.lab.netns` (shell, pyroute2): `apply_topology`, `teardown`,
  `list_leftovers`, `sync_host_routes`, `exec_in` / `run_in` / `ping`.
- `svcnet.lab.probe`: ICMP echo for machines without iputils.

Importing this package loads only the pure parts; import the shell module
explicitly.
"""

from svcnet.lab.errors import CommandError, LabError, LabExistsError, NetnsError, TopologyError
from svcnet.lab.topology import NodePlan, NodeRouting, Route, Topology, plan_topology

__all__ = [
    "CommandError",
    "LabError",
    "LabExistsError",
    "NetnsError",
    "NodePlan",
    "NodeRouting",
    "Route",
    "Topology",
    "TopologyError",
    "plan_topology",
]
