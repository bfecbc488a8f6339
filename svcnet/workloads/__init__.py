"""Built-in workload images: what a container of a given image runs as a process.

`images.resolve(image, command, args)` (pure) maps a container to an argv:
agnhost-style ``netexec`` / ``serve-hostname`` / ``liveness`` / ``pause``,
``nginx``, ``hashicorp/http-echo``, echo servers, or the container's own
command on the host filesystem for shell images (busybox, alpine, python,
debian, ubuntu). Each built-in program is a module runnable as
``python -m svcnet.workloads.<name>`` that logs to stdout and exits 0 on
SIGTERM. The image table is `images.BUILTIN_IMAGES`; `images.markdown_table()`
renders it for the README.
"""

from svcnet.workloads.images import (
    BUILTIN_IMAGES,
    IMAGE_NOT_SUPPORTED,
    INVALID_IMAGE_NAME,
    Resolved,
    Unresolved,
    resolve,
)
from svcnet.workloads.reference import ImageRef, InvalidReference, parse_reference

__all__ = [
    "BUILTIN_IMAGES",
    "IMAGE_NOT_SUPPORTED",
    "INVALID_IMAGE_NAME",
    "ImageRef",
    "InvalidReference",
    "Resolved",
    "Unresolved",
    "parse_reference",
    "resolve",
]
