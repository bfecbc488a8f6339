"""Container image references, parsed and normalised like the Docker reference grammar (pure).

Theory of operation: an image reference is ``[domain/]path[:tag][@digest]``
(distribution/reference). The first ``/``-separated component is a domain
only when it looks like one (contains ``.`` or ``:``, or is ``localhost``)
and more components follow; otherwise the domain is ``docker.io``. On
docker.io a one-component path lives under ``library/`` (``nginx`` is
``docker.io/library/nginx``) and ``index.docker.io`` is spelled
``docker.io``. The kubelet then applies the default tag ``latest`` when
neither tag nor digest is given (`effective_tag`).

Invariants:
  * `parse_reference` either returns a normalised `ImageRef` or raises
    `InvalidReference`; it never guesses past the grammar;
  * path components are lowercase (upper case is a distinct error, as
    upstream reports "repository name must be lowercase");
  * ``str(ref)`` is the canonical, fully qualified form and parses back to
    an equal `ImageRef`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "ImageRef",
    "InvalidReference",
    "parse_reference",
]

DEFAULT_DOMAIN = "docker.io"
DEFAULT_TAG = "latest"
OFFICIAL_REPO_PREFIX = "library/"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
NAME_TOTAL_LENGTH_MAX = 255

# distribution/reference regexp.go, spelled out.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(
    r"(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidReference(ValueError):
    """The string is not a valid image reference; `str()` says why."""


@dataclass(frozen=True)
class ImageRef:
    """A normalised image reference.

    Attributes:
        domain: registry host[:port], e.g. ``docker.io``, ``registry.k8s.io``.
        path: repository path inside the registry, e.g. ``library/nginx``.
        tag: the tag as written, or None.
        digest: ``algorithm:hex`` as written, or None.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``domain/path``: the name without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def name(self) -> str:
        """The last path component: ``nginx``, ``agnhost``, ``echo-server``."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def familiar(self) -> str:
        """The short form people type (``nginx``, ``hashicorp/http-echo``, ``registry.k8s.io/pause``)."""
        if self.domain != DEFAULT_DOMAIN:
            return self.repository
        if self.path.startswith(OFFICIAL_REPO_PREFIX) and self.path.count("/") == 1:
            return self.path[len(OFFICIAL_REPO_PREFIX) :]
        return self.path

    @property
    def effective_tag(self) -> str | None:
        """The tag the kubelet pulls: as written, ``latest`` without tag and digest, else None."""
        if self.tag is None and self.digest is None:
            return DEFAULT_TAG
        return self.tag

    def path_endswith(self, suffix: str) -> bool:
        """Whether the path ends with ``suffix`` on a component boundary."""
        return self.path == suffix or self.path.endswith("/" + suffix)

    def __str__(self) -> str:
        s = self.repository
        if self.tag is not None:
            s += ":" + self.tag
        if self.digest is not None:
            s += "@" + self.digest
        return s


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return DEFAULT_DOMAIN, name


def parse_reference(image: str) -> ImageRef:
    """Parse and normalise ``image`` (``nginx``, ``docker.io/library/nginx:1.25``, ``x@sha256:...``).

    Raises:
        InvalidReference: empty string, bad characters, upper-case path,
            malformed tag or digest, or a name over 255 characters.
    """
    if not image or image != image.strip():
        raise InvalidReference("invalid reference format")
    rest, at, digest = image.partition("@")
    if at:
        if not _DIGEST.fullmatch(digest):
            raise InvalidReference("invalid digest format")
        algo, _, hexpart = digest.partition(":")
        want = _HEX_LENGTHS.get(algo)
        if want is not None and (len(hexpart) != want or not re.fullmatch(r"[a-f0-9]+", hexpart)):
            raise InvalidReference(f"invalid checksum digest length for {algo}")
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference("invalid tag format")
    if not rest:
        raise InvalidReference("invalid reference format")
    if len(rest) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    domain, path = _split_domain(rest)
    if domain != DEFAULT_DOMAIN and not _DOMAIN.fullmatch(domain):
        raise InvalidReference("invalid reference format")
    components = path.split("/")
    for comp in components:
        if _PATH_COMPONENT.fullmatch(comp):
            continue
        if _PATH_COMPONENT.fullmatch(comp.lower()):
            raise InvalidReference("repository name must be lowercase")
        raise InvalidReference("invalid reference format")
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and len(components) == 1:
        path = OFFICIAL_REPO_PREFIX + path
    return ImageRef(domain=domain, path=path, tag=tag, digest=digest if at else None)
