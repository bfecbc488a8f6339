"""Image reference parsing: distribution/reference grammar and docker.io normalisation."""

from __future__ import annotations

import pytest

from svcnet.workloads.reference import ImageRef, InvalidReference, parse_reference

SHA = "sha256:" + "ab" * 32

VALID = [
    ("nginx", ImageRef("docker.io", "library/nginx"), "nginx", "latest"),
    ("nginx:1.25", ImageRef("docker.io", "library/nginx", "1.25"), "nginx", "1.25"),
    (
        "docker.io/library/nginx:1.25",
        ImageRef("docker.io", "library/nginx", "1.25"),
        "nginx",
        "1.25",
    ),
    ("index.docker.io/library/nginx", ImageRef("docker.io", "library/nginx"), "nginx", "latest"),
    (f"nginx@{SHA}", ImageRef("docker.io", "library/nginx", None, SHA), "nginx", None),
    (f"nginx:1.25@{SHA}", ImageRef("docker.io", "library/nginx", "1.25", SHA), "nginx", "1.25"),
    (
        "hashicorp/http-echo",
        ImageRef("docker.io", "hashicorp/http-echo"),
        "hashicorp/http-echo",
        "latest",
    ),
    (
        "registry.k8s.io/e2e-test-images/agnhost:2.47",
        ImageRef("registry.k8s.io", "e2e-test-images/agnhost", "2.47"),
        "registry.k8s.io/e2e-test-images/agnhost",
        "2.47",
    ),
    ("localhost:5000/app", ImageRef("localhost:5000", "app"), "localhost:5000/app", "latest"),
    ("localhost/app:v1", ImageRef("localhost", "app", "v1"), "localhost/app", "v1"),
    (
        "my.registry:443/team/app_x:v1.2-rc",
        ImageRef("my.registry:443", "team/app_x", "v1.2-rc"),
        "my.registry:443/team/app_x",
        "v1.2-rc",
    ),
    ("[::1]:5000/app", ImageRef("[::1]:5000", "app"), "[::1]:5000/app", "latest"),
]


@pytest.mark.parametrize(
    ("image", "want", "familiar", "tag"), VALID, ids=[v[0][:60] for v in VALID]
)
def test_parse_valid(image, want, familiar, tag) -> None:
    ref = parse_reference(image)
    assert ref == want
    assert ref.familiar == familiar
    assert ref.effective_tag == tag
    assert parse_reference(str(ref)) == ref, "canonical form parses back"


INVALID = [
    ("", "invalid reference format"),
    (" nginx", "invalid reference format"),
    ("Nginx", "must be lowercase"),
    ("docker.io/Library/nginx", "must be lowercase"),
    ("nginx:", "invalid tag format"),
    ("nginx:-x", "invalid tag format"),
    ("nginx@sha256:abc", "invalid digest format"),
    ("nginx@sha256:" + "g" * 64, "invalid checksum digest length"),
    ("a//b", "invalid reference format"),
    ("-nginx", "invalid reference format"),
    ("a" * 256, "must not be more than 255 characters"),
]


@pytest.mark.parametrize(("image", "why"), INVALID, ids=[v[0][:30] or "empty" for v in INVALID])
def test_parse_invalid(image, why) -> None:
    with pytest.raises(InvalidReference, match=why):
        parse_reference(image)


def test_path_suffix_is_component_wise() -> None:
    ref = parse_reference("registry.k8s.io/e2e-test-images/agnhost:2.47")
    assert ref.path_endswith("agnhost")
    assert ref.path_endswith("e2e-test-images/agnhost")
    assert not ref.path_endswith("host")
    assert ref.name == "agnhost"
