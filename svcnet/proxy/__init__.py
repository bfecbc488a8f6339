"""Service proxy (kube-proxy): change tracking -> desired state (pure) -> dataplanes.

The pure core is ``model`` (views), ``changes`` (trackers), ``topology``
(``categorize_endpoints``) and ``plan`` (per-service-port decisions shared by
every dataplane). Dataplanes render plans; shells feed watch events in.
"""
