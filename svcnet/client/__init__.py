"""svcnet.client: an async Kubernetes client (REST, informers, work queues).

The client-go of svcnet, usable against svcnet's API server or a real
cluster. Controllers, the proxy and DNS build on three pieces:

* `Client` (rest.py): typed REST verbs and watches over aiohttp, from a
  kubeconfig, a unix socket or a pod's service account;
* `Informer` (informer.py): list + watch into an indexed local cache with
  add/update/delete handlers, re-list on 410 Gone and on errors, resync;
* `RateLimitingQueue` (workqueue.py): deduplicating, one-worker-per-key
  queue with client-go's rate limiters.

See each module's docstring for its theory of operation.
"""

from svcnet.client.cache import (
    NAMESPACE_INDEX,
    ReplaceDiff,
    Store,
    diff_replace,
    index_by_field,
    index_by_label,
    index_by_namespace,
    key_string,
    object_key,
    split_key,
)
from svcnet.client.clock import Clock, FakeClock, RealClock
from svcnet.client.config import ConnectionConfig, in_cluster_config, load_kubeconfig
from svcnet.client.errors import (
    AlreadyExistsError,
    ApiError,
    ClientError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    NotFoundError,
    TransportError,
    UnauthorizedError,
    is_already_exists,
    is_conflict,
    is_gone,
    is_invalid,
    is_not_found,
)
from svcnet.client.informer import EventHandler, Informer, InformerFactory
from svcnet.client.resources import (
    CONFIGMAPS,
    DEPLOYMENTS,
    ENDPOINTS,
    ENDPOINTSLICES,
    EVENTS,
    INGRESSCLASSES,
    INGRESSES,
    LEASES,
    NAMESPACES,
    NETWORKPOLICIES,
    NODES,
    PODS,
    REPLICASETS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    Resource,
)
from svcnet.client.rest import Client
from svcnet.client.workqueue import (
    BucketRateLimiter,
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    RateLimitingQueue,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
    run_worker,
)

__all__ = [
    "CONFIGMAPS",
    "DEPLOYMENTS",
    "ENDPOINTS",
    "ENDPOINTSLICES",
    "EVENTS",
    "INGRESSCLASSES",
    "INGRESSES",
    "LEASES",
    "NAMESPACES",
    "NAMESPACE_INDEX",
    "NETWORKPOLICIES",
    "NODES",
    "PODS",
    "REPLICASETS",
    "SECRETS",
    "SERVICEACCOUNTS",
    "SERVICES",
    "AlreadyExistsError",
    "ApiError",
    "BucketRateLimiter",
    "Client",
    "ClientError",
    "Clock",
    "ConfigError",
    "ConflictError",
    "ConnectionConfig",
    "DelayingQueue",
    "EventHandler",
    "FakeClock",
    "ForbiddenError",
    "GoneError",
    "Informer",
    "InformerFactory",
    "InvalidError",
    "ItemExponentialFailureRateLimiter",
    "ItemFastSlowRateLimiter",
    "MaxOfRateLimiter",
    "NotFoundError",
    "RateLimiter",
    "RateLimitingQueue",
    "RealClock",
    "ReplaceDiff",
    "Resource",
    "ShutDown",
    "Store",
    "TransportError",
    "UnauthorizedError",
    "WorkQueue",
    "default_controller_rate_limiter",
    "diff_replace",
    "in_cluster_config",
    "index_by_field",
    "index_by_label",
    "index_by_namespace",
    "is_already_exists",
    "is_conflict",
    "is_gone",
    "is_invalid",
    "is_not_found",
    "key_string",
    "load_kubeconfig",
    "object_key",
    "run_worker",
    "split_key",
]
