"""The security review's findings (issue 15), each tried the way the reviewer tried it."""

from __future__ import annotations

import csv
import http.client
import io
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import PASSWORD


def _events(**where):
    from triangulate.web.models import AuditEvent

    return list(AuditEvent.objects.filter(**where))


def _court_list(site, people: int = 5, *, family_name: str | None = None, padding: int = 0) -> bytes:
    population = site["population"]
    with population.files["court_appearance"].open(encoding="utf-8", newline="") as fh:
        court = [r for r in csv.DictReader(fh) if r["family_name"] and len(r["date_of_birth"]) == 10][:people]
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\n")
    w.writerow(["given_name", "family_name", "date_of_birth", "postcode", "location", "time"])
    for i, r in enumerate(court):
        w.writerow([r["given_name"], family_name if family_name and i == 1 else r["family_name"],
                    r["date_of_birth"], r["postcode"], r["court_code"], "10:00"])
    return buffer.getvalue().encode() + b",,,,,\n" * padding  # blank rows are skipped, not screened


def _upload(client, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/screening/", {"list": SimpleUploadedFile("list.csv", data, "text/csv")})


def _token(page) -> str:
    return page.content.decode().split('href="/screening/result/')[1].split('.csv"')[0]


# --- 1, 6, 9: screening results -----------------------------------------------------------------

def test_an_expired_result_cannot_be_downloaded_though_nobody_opened_the_screening_page(client_for, site,
                                                                                        monkeypatch):
    from triangulate.web import views

    c = client_for("screener")
    token = _token(_upload(c, _court_list(site)))
    assert c.get(f"/screening/result/{token}.csv").status_code == 200
    monkeypatch.setattr(views.RESULTS, "retention_seconds", 0.5)
    time.sleep(0.6)
    assert c.get(f"/screening/result/{token}.csv").status_code == 404


def test_a_result_is_for_its_uploader_only_and_every_step_is_audited_with_the_result(client_for, site):
    from triangulate.web import server
    from triangulate.web.screening import result_id

    server.create_user("test-screener-2", "screener", PASSWORD, by="tests")
    first = client_for("screener")
    assert first.get("/screening/").status_code == 200
    assert _events(user_name="test-screener", event="page view", path="/screening/")
    token = _token(_upload(first, _court_list(site)))
    other = client_for(None)
    assert other.post("/login/", {"username": "test-screener-2", "password": PASSWORD}).status_code == 302
    assert other.get(f"/screening/result/{token}.csv").status_code == 404  # another screener, same token
    assert first.get(f"/screening/result/{token}.csv").status_code == 200
    rid = result_id(token)
    assert rid not in token and token not in str([e.detail for e in _events()])
    assert [e.detail["result"] for e in _events(user_name="test-screener", event="upload") if "result" in e.detail
            ][0] == rid
    assert any(e.detail.get("result") == rid for e in _events(user_name="test-screener", event="export"))
    assert any(e.detail.get("result") == rid for e in _events(user_name="test-screener-2", event="refused"))


def test_chart_views_are_audited_with_their_filters_and_whether_unsuppressed(client_for):
    analyst = client_for("analyst")
    before = {e.pk for e in _events(user_name="test-analyst", event="chart view", path="/chart/needs.svg")}
    assert analyst.get("/needs/?unsuppressed=1").status_code == 200
    assert analyst.get("/chart/needs.svg?unsuppressed=1&area=E09000028").status_code == 200
    assert analyst.get("/chart/needs.svg").status_code == 200
    new = [e for e in _events(user_name="test-analyst", event="chart view", path="/chart/needs.svg") if e.pk not in before]
    assert sorted((e.detail["unsuppressed"], e.detail["filters"]) for e in new) == [
        (False, {}), (True, {"area": "E09000028"})]


# --- 3, 5: uploads ------------------------------------------------------------------------------

def test_an_upload_over_the_cap_is_refused_with_what_to_do_and_is_never_read(client_for, site):
    from triangulate.web.screening import MAX_UPLOAD_BYTES

    c = client_for("screener")
    big = _court_list(site, padding=MAX_UPLOAD_BYTES // 6 + 10)
    assert len(big) > MAX_UPLOAD_BYTES
    response = _upload(c, big)
    assert response.status_code == 413 and "larger than 2 MB" in response.content.decode()
    assert _events(user_name="test-screener", event="refused", path="/screening/")


def test_an_upload_above_djangos_memory_threshold_is_held_in_memory_not_a_temporary_file(
        client_for, site, monkeypatch, tmp_path):
    from django.test import override_settings

    from triangulate.web import screening

    monkeypatch.setattr(screening, "MAX_UPLOAD_BYTES", 8 * 1024 * 1024)
    listed = _court_list(site, padding=600_000)  # 3.6 MB, almost all blank rows
    assert len(listed) > 2.5 * 1024 * 1024
    c = client_for("screener")
    # Django writes uploads over 2.5 MB to FILE_UPLOAD_TEMP_DIR; pointed at a folder that does not
    # exist, any attempt to do so fails the request.
    with override_settings(FILE_UPLOAD_TEMP_DIR=str(tmp_path / "no-such-folder")):
        response = _upload(c, listed)
    assert response.status_code == 200, response.content[:500]
    assert "Who to see first (5 people)" in response.content.decode()


def test_a_value_past_the_csv_field_limit_is_a_400_naming_the_row_and_field(client_for, site):
    response = _upload(client_for("screener"), _court_list(site, family_name="Q" * 200_000))
    text = response.content.decode()
    assert response.status_code == 400
    assert "row 3, field family_name" in text and "longer than 1,000 characters" in text and "QQQQ" not in text


_MARK = "Zq~7"  # "~" is in no CSRF token or session id, so the page cannot hold it by chance


@st.composite
def _broken_lists(draw) -> bytes:
    rows = [["given_name", "family_name", "date_of_birth", "postcode", "location", "time"],
            ["Jane", "Smith", "1980-02-03", "SE1 7PB", "C2753", "10:00"]]
    for _ in range(draw(st.integers(0, 4))):
        r, c = draw(st.integers(0, 1)), draw(st.integers(0, 5))
        rows[r][c] = _MARK + draw(st.one_of(st.text(st.characters(codec="utf-8"), max_size=30),
                                            st.just("x" * 150_000)))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    data = buffer.getvalue().encode()
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at + draw(st.integers(0, 6)):]
    return data


@pytest.mark.fuzz
@settings(max_examples=int(os.environ.get("TRIANGULATE_FUZZ_EXAMPLES", "0")) or 40, deadline=None,
          derandomize=not os.environ.get("TRIANGULATE_FUZZ_EXAMPLES"),  # fixed examples in make test
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=_broken_lists())
def test_no_uploaded_list_gets_a_500_or_has_its_values_quoted_back_in_an_error(client_for, data):
    c = _screener_client(client_for)
    response = _upload(c, data)
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        page = response.content.decode()
        assert _MARK not in page and "Traceback" not in page


_clients: dict = {}


def _screener_client(client_for):
    """One logged-in screener for every example (a login per example would trip the lockout)."""
    if "screener" not in _clients:
        _clients["screener"] = client_for("screener")
    return _clients["screener"]


# --- 8: lockout ---------------------------------------------------------------------------------

def test_parallel_wrong_passwords_are_checked_no_more_times_than_the_limit(site):
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from triangulate.web import server

    server.create_user("test-raced", "viewer", PASSWORD, by="tests")
    statuses: list[int] = []
    start = threading.Barrier(16)

    def guess(n: int) -> None:
        try:
            start.wait()
            statuses.append(Client().post("/login/", {"username": "test-raced", "password": f"guess {n}"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [401] * 16
    checked = len(_events(user_name="test-raced", event="login failed"))
    assert 1 <= checked <= settings.LOGIN_FAILURE_LIMIT
    assert len(_events(user_name="test-raced", event="login refused: locked")) == 16 - checked
    right = Client().post("/login/", {"username": "test-raced", "password": PASSWORD})
    assert right.status_code == 401 and "locked" in right.content.decode()


def test_a_successful_login_clears_earlier_failures(client_for, site):
    from triangulate.web import server

    server.create_user("test-forgetful", "viewer", PASSWORD, by="tests")
    c = client_for(None)
    for _ in range(4):
        assert c.post("/login/", {"username": "test-forgetful", "password": "not it"}).status_code == 401
    assert c.post("/login/", {"username": "test-forgetful", "password": PASSWORD}).status_code == 302
    for _ in range(4):
        assert c.post("/login/", {"username": "test-forgetful", "password": "not it"}).status_code == 401
    assert c.post("/login/", {"username": "test-forgetful", "password": PASSWORD}).status_code == 302


# --- 3, 4, 1, 10: the real server, as deployed behind a TLS proxy -------------------------------

def test_waitress_holds_request_bodies_in_memory_up_to_the_cap_and_refuses_bigger():
    from waitress.adjustments import Adjustments

    from triangulate.web.screening import MAX_UPLOAD_BYTES
    from triangulate.web.server import waitress_options

    adj = Adjustments(**waitress_options())
    assert adj.max_request_body_size >= MAX_UPLOAD_BYTES
    assert adj.inbuf_overflow > adj.max_request_body_size  # never spooled to a temporary file


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Browser:
    """Just enough of a browser over http.client: cookies, and the proxy's headers on every request."""

    def __init__(self, port: int, source: str = "127.0.0.1", proxy: bool = True):
        self.port, self.source, self.proxy, self.cookies = port, source, proxy, {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120, source_address=(self.source, 0))
        sent = {"Host": "127.0.0.1", **(headers or {})}
        if self.proxy:
            sent |= {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            sent.setdefault("Referer", "https://127.0.0.1/")
            sent.setdefault("Origin", "https://127.0.0.1")
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        content = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, rest = value.split("=", 1)
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response, content

    def form(self, path: str, fields: dict, files: dict | None = None):
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in {"csrfmiddlewaretoken": self.cookies["csrftoken"], **fields}.items()]
        for k, (name, data) in (files or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                         f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def _serve(site, folder: Path) -> dict:
    """``triangulate serve`` as production runs it (no insecure cookies) behind a TLS proxy on
    127.0.0.1, with its own temporary folder and an app database in a folder it creates, under umask 022."""
    tmp = folder / "tmp"
    tmp.mkdir(parents=True)
    app_db = folder / "app" / "web.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIANGULATE_")}
    env |= {"TMPDIR": str(tmp), "TRIANGULATE_PASSWORD": PASSWORD}
    cli = [sys.executable, "-m", "triangulate"]
    umask = lambda: os.umask(0o022)  # noqa: E731 - the usual umask, as the reviewer had it
    made = subprocess.run([*cli, "createuser", "prod-screener", "--role", "screener", "--store", str(site["store"]),
                           "--app-db", str(app_db)], env=env, capture_output=True, text=True, preexec_fn=umask)
    assert made.returncode == 0, made.stderr
    port = _free_port()
    process = subprocess.Popen([*cli, "serve", "--store", str(site["store"]), "--app-db", str(app_db), "--port",
                                str(port), "--trusted-proxy", "127.0.0.1"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, preexec_fn=umask)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.3)
    return {"port": port, "process": process, "tmp": tmp, "app_db": app_db}


def _stop(server: dict) -> str:
    process = server["process"]
    if process.poll() is None:
        process.terminate()
    return process.communicate(timeout=30)[1]


@pytest.fixture(scope="module")
def production(site, tmp_path_factory):
    server = _serve(site, tmp_path_factory.mktemp("production"))
    yield server
    _stop(server)


def test_behind_a_trusted_proxy_https_is_believed_and_cookies_are_secure(production):
    browser = _Browser(production["port"])
    response, _ = browser.request("GET", "/login/")
    assert response.status == 200  # not a 301 to https: the proxy said the request came over TLS
    assert response.getheader("Strict-Transport-Security", "").startswith("max-age=31536000")
    cookie = [v for h, v in response.getheaders() if h.lower() == "set-cookie" and v.startswith("csrftoken=")][0]
    assert "Secure" in cookie and "SameSite=Strict" in cookie
    response, _ = browser.form("/login/", {"username": "prod-screener", "password": PASSWORD})
    assert response.status == 302 and "sessionid" in browser.cookies
    plain, _ = _Browser(production["port"], proxy=False).request("GET", "/login/")
    assert plain.status == 301 and plain.getheader("Location").startswith("https://")


def test_the_proxy_headers_of_anyone_but_the_trusted_proxy_are_ignored(production):
    response, _ = _Browser(production["port"], source="127.0.0.2").request("GET", "/login/")
    assert response.status == 301  # X-Forwarded-Proto from 127.0.0.2 is not believed


def test_the_real_server_refuses_an_oversized_upload_saying_what_to_do_or_before_reading_it(production, site):
    from triangulate.web.screening import MAX_UPLOAD_BYTES

    browser = _Browser(production["port"])
    browser.request("GET", "/login/")
    browser.form("/login/", {"username": "prod-screener", "password": PASSWORD})
    big = _court_list(site, padding=(MAX_UPLOAD_BYTES * 3 // 2) // 6)  # 3 MB: over the cap
    response, content = browser.form("/screening/", {}, {"list": ("list.csv", big)})
    assert response.status == 413 and b"larger than 2 MB: split it" in content
    # Far past the cap only the headers are sent: the server answers from the declared length.
    conn = http.client.HTTPConnection("127.0.0.1", production["port"], timeout=60)
    conn.putrequest("POST", "/screening/", skip_host=True)
    for header, value in {"Host": "127.0.0.1", "X-Forwarded-Proto": "https",
                          "Content-Length": str(10 * MAX_UPLOAD_BYTES),
                          "Content-Type": "multipart/form-data; boundary=x",
                          "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}.items():
        conn.putheader(header, value)
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    conn.close()


def test_a_stopped_server_leaves_no_result_and_its_app_database_is_owner_only(site, tmp_path):
    server = _serve(site, tmp_path)
    try:
        browser = _Browser(server["port"])
        browser.request("GET", "/login/")
        browser.form("/login/", {"username": "prod-screener", "password": PASSWORD})
        response, content = browser.form("/screening/", {}, {"list": ("list.csv", _court_list(site))})
        assert response.status == 200, content[:300]
        token = re.search(rb'href="/screening/result/([A-Za-z0-9_-]+)\.csv"', content).group(1).decode()
        response, result = browser.request("GET", f"/screening/result/{token}.csv")
        assert response.status == 200 and result.count(b"\n") == 6
    finally:
        log = _stop(server)
    family_name = _court_list(site).decode().splitlines()[1].split(",")[1]
    assert family_name not in log and "Traceback" not in log
    for path in [*server["tmp"].rglob("*"), *server["app_db"].parent.rglob("*")]:
        assert not (path.is_file() and family_name.encode() in path.read_bytes()), path.name
    assert not list(server["tmp"].iterdir())
    app = server["app_db"]
    assert stat.S_IMODE(app.parent.stat().st_mode) == 0o700
    for path in app.parent.iterdir():  # the database, its -wal and -shm, the signing key
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_a_store_made_under_umask_022_is_owner_only_and_so_is_its_write_ahead_log(tmp_path):
    import duckdb

    from triangulate.store import connect

    before = os.umask(0o022)
    try:
        con = connect(tmp_path / "new" / "store.duckdb")
        con.execute("SET checkpoint_threshold = '1GB'")  # keep the write-ahead log on disk
        con.execute("CREATE TABLE t AS SELECT 'a name' AS n")
        con.execute("INSERT INTO t VALUES ('another')")
        made = sorted((tmp_path / "new").iterdir())
        assert [p.name for p in made] == ["store.duckdb", "store.duckdb.wal"]
        for path in made:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
        con.close()
        assert duckdb.connect(str(tmp_path / "new" / "store.duckdb"), read_only=True).sql(
            "SELECT count(*) FROM t").fetchall() == [(2,)]
    finally:
        os.umask(before)
