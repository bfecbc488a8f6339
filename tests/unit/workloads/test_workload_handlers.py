"""Workload handlers without sockets: nginx's static site, echo reports, liveness, netexec UDP."""

from __future__ import annotations

from svcnet.workloads.echo_server import echoserver_report, jmalloc_report
from svcnet.workloads.http_echo import make_handler as http_echo_handler
from svcnet.workloads.httpcore import Request
from svcnet.workloads.liveness import make_handler as liveness_handler
from svcnet.workloads.netexec import Netexec
from svcnet.workloads.nginx import StaticSite
from svcnet.workloads.server import Lifecycle


def req(target: str, method: str = "GET", headers=(), body: bytes = b"") -> Request:
    return Request(method, target, "HTTP/1.1", tuple(headers), body, "10.0.0.9:4242")


def test_nginx_default_page_without_root(tmp_path) -> None:
    site = StaticSite(tmp_path / "missing")
    resp = site.handle(req("/"))
    assert resp.status == 200 and "Welcome to nginx!" in resp.body
    assert site.handle(req("/nope")).status == 404
    assert site.handle(req("/", "POST")).status == 405


def test_nginx_serves_root_files(tmp_path) -> None:
    (tmp_path / "index.html").write_text("<h1>mine</h1>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("A")
    (tmp_path / "empty").mkdir()
    site = StaticSite(tmp_path)
    assert site.handle(req("/")).body == b"<h1>mine</h1>"
    a = site.handle(req("/sub/a.txt"))
    assert a.body == b"A" and a.content_type == "text/plain"
    assert site.handle(req("/sub")).status == 301
    assert site.handle(req("/empty/")).status == 403
    assert site.handle(req("/../../etc/passwd")).status == 404
    assert site.handle(req("/%2e%2e/%2e%2e/etc/passwd")).status == 404


def test_nginx_falls_back_to_welcome_page_when_root_has_no_index(tmp_path) -> None:
    (tmp_path / "x.txt").write_text("x")
    assert "Welcome to nginx!" in StaticSite(tmp_path).handle(req("/")).body


def test_jmalloc_report() -> None:
    r = req(
        "/a?b=1", "POST", [("Host", "svc:8080"), ("user-agent", "curl"), ("Accept", "*/*")], b"data"
    )
    assert jmalloc_report(r, "pod-1", True) == (
        "Request served by pod-1\n\nPOST /a?b=1 HTTP/1.1\n\nHost: svc:8080\n"
        "Accept: */*\nUser-Agent: curl\n\ndata"
    )
    assert not jmalloc_report(r, "pod-1", False).startswith("Request served")


def test_echoserver_report() -> None:
    r = req("/p?q=1", headers=[("Host", "h:8080"), ("User-Agent", "curl")])
    text = echoserver_report(r, "pod-2", {"POD_NAME": "pod-2"}, 8080)
    assert "Hostname: pod-2" in text
    assert "\tpod name:\tpod-2" in text
    assert "\tclient_address=10.0.0.9" in text
    assert "\treal path=/p" in text and "\tquery=q=1" in text
    assert "\trequest_uri=http://h:8080/p?q=1" in text
    assert "\tuser-agent=curl" in text
    assert "-no body in request-" in text


def test_http_echo_handler() -> None:
    h = http_echo_handler("hello", 202)
    resp = h(req("/anything"))
    assert (resp.status, resp.body) == (202, "hello\n")
    assert ("X-App-Name", "http-echo") in resp.headers
    assert h(req("/health")).body == '{"status":"ok"}'


def test_liveness_fails_after_deadline() -> None:
    now = [100.0]
    h = liveness_handler(100.0, 10.0, clock=lambda: now[0])
    assert (h(req("/healthz")).status, h(req("/healthz")).body) == (200, "ok")
    now[0] = 111.0
    assert h(req("/healthz")).status == 500


def test_netexec_udp_and_plain_endpoints(monkeypatch) -> None:
    monkeypatch.setenv("HOSTNAME", "web-abc")
    app = Netexec(Lifecycle(), udp_port=8081)
    assert app.udp(b"hostname\n", "1.2.3.4:5") == b"web-abc"
    assert app.udp(b"echo Hello World", "1.2.3.4:5") == b"hello world"  # upstream lower-cases
    assert app.udp(b"clientip", "1.2.3.4:5") == b"1.2.3.4:5"
    assert app.udp(b"bogus", "1.2.3.4:5") is None
    assert app.hostname(req("/hostname")).body == "web-abc"
    assert app.clientip(req("/clientip")).body == "10.0.0.9:4242"
    assert app.echo(req("/echo?msg=x&code=404")).status == 404
    assert app.healthz(req("/healthz")).status == 412, "not ready before the UDP server starts"
    assert Netexec(Lifecycle(), udp_port=-1).healthz(req("/healthz")).status == 200
    assert app.redirect(req("/redirect?location=/x")).headers == [("Location", "/x")]
    assert app.root(req("/")).body.startswith("NOW: ")
