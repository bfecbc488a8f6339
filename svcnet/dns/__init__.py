"""svcnet.dns: cluster DNS (the CoreDNS kubernetes plugin, in Python).

Implements the Kubernetes DNS-Based Service Discovery specification,
schema 1.1.0, the way CoreDNS serves it in a cluster. One concern per
module, pure cores first:

* errors.py  -- `DNSError` and its subclasses;
* views.py   -- Service/EndpointSlice -> frozen views at the watch boundary;
* parse.py   -- `parse_request(qname, zone)`: what a name asks for (pure);
* records.py -- the records one Service owns (pure);
* index.py   -- `RecordIndex`: incremental updates, cached `Answer`s (pure);
* wire.py    -- query parsing and reply templates on raw bytes (sans-I/O);
* forward.py -- upstream resolvers and the reply cache;
* handler.py -- bytes in, reply out: the server's whole policy;
* metrics.py -- CoreDNS-named Prometheus metrics;
* watch.py   -- informers -> index;
* server.py  -- UDP/TCP/HTTP shell, `Options`, `DNSServer`, `serve()`.
"""

from svcnet.dns.answer import Answer, normalise_zone, zone_lines
from svcnet.dns.errors import DNSConfigError, DNSError
from svcnet.dns.index import DNS_SCHEMA_VERSION, RecordIndex
from svcnet.dns.parse import Kind, Request, parse_request
from svcnet.dns.server import DNSServer, Options, serve
from svcnet.dns.views import (
    EndpointSliceView,
    EndpointView,
    PortView,
    ServiceView,
    endpointslice_view,
    service_view,
)

__all__ = [
    "DNS_SCHEMA_VERSION",
    "Answer",
    "DNSConfigError",
    "DNSError",
    "DNSServer",
    "EndpointSliceView",
    "EndpointView",
    "Kind",
    "Options",
    "PortView",
    "RecordIndex",
    "Request",
    "ServiceView",
    "endpointslice_view",
    "normalise_zone",
    "parse_request",
    "serve",
    "service_view",
    "zone_lines",
]
