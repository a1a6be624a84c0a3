"""Faults: the database unreachable for a moment (503 with an OperationOutcome, nothing half-written, recovery by
itself), and a worker killed in the middle of a decision (its transaction rolls back; nothing half-done)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import threading
from typing import Any

import orjson
import pytest
from sqlalchemy.engine import make_url

from um_service.app import create_app
from um_service.settings import REPO_ROOT, Settings

from builders import request_bundle
from conftest import FHIR_JSON, AuthClient, Clock


class TcpProxy:
    """A loopback TCP proxy to the database that a test can cut and restore."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = 0
        self._server: socket.socket | None = None
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(32)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                inbound, _ = server.accept()
            except OSError:
                return
            outbound = socket.create_connection(self.target)
            with self._lock:
                self._links += [inbound, outbound]
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        assert self._server is not None
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not
        self._server.close()
        with self._lock:
            for link in self._links:
                try:
                    link.shutdown(socket.SHUT_RDWR)
                    link.close()
                except OSError:
                    pass
            self._links.clear()


@pytest.fixture
def postgres(migrated: str) -> str:
    if not migrated.startswith("postgresql"):
        pytest.skip("the outage test cuts a network connection: it runs on PostgreSQL")
    return migrated


def test_a_database_outage_answers_503_and_the_service_recovers(postgres: str, database: Any) -> None:
    url = make_url(postgres)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    clock = Clock()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with AuthClient(create_app(Settings(database_url=proxied, dispatcher=False), clock=clock), clock) as client:
        body = orjson.dumps(request_bundle(identifier="OUTAGE-1"))
        assert client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": FHIR_JSON}).status_code == 200

        proxy.cut()
        down = client.post(
            "/fhir/Claim/$submit",
            content=orjson.dumps(request_bundle(identifier="OUTAGE-2")),
            headers={"Content-Type": FHIR_JSON},
        )
        staff_down = client.get("/um/worklist")
        ready = client.get("/health/ready", headers={"Authorization": ""})

        assert down.status_code == 503
        assert down.headers["retry-after"] == "5"
        assert down.json()["resourceType"] == "OperationOutcome"
        assert down.json()["issue"][0]["code"] == "transient"
        assert staff_down.status_code == 503
        assert ready.status_code == 503

        proxy.start()  # the database is back, on the same address
        again = client.post(
            "/fhir/Claim/$submit",
            content=orjson.dumps(request_bundle(identifier="OUTAGE-2")),
            headers={"Content-Type": FHIR_JSON},
        )
        assert again.status_code == 200
        assert client.get("/health/ready", headers={"Authorization": ""}).status_code == 200
    proxy.cut()


WORKER = textwrap.dedent("""
    import os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from um_service.context import RequestContext
    from um_service.db.session import Database
    from um_service.decision import load_directory
    from um_service.fhir.envelope import Limits
    from um_service.pas.intake import submit

    database = Database(sys.argv[1])
    context = RequestContext(submitter="1234567893", organization="1234567893", base_url="http://x/fhir",
                             now=datetime.now(UTC), payer_system="urn:x", limits=Limits(),
                             rules=load_directory(Path(sys.argv[2])))
    with database.transaction() as session:
        submit(session, raw=sys.stdin.buffer.read(), context=context)
        session.flush()
        print("decided, not committed", flush=True)
        os._exit(9)  # the worker dies before its transaction commits
""")


def test_a_worker_killed_mid_decision_leaves_nothing_half_done(migrated: str, client: Any, counts: Any) -> None:
    before = counts()
    body = orjson.dumps(request_bundle(identifier="KILLED-1"))

    killed = subprocess.run(
        [sys.executable, "-c", WORKER, migrated, str(REPO_ROOT / "rules")],
        input=body,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )

    assert killed.returncode == 9, killed.stderr.decode()
    assert b"decided, not committed" in killed.stdout
    assert counts() == before
    retried = client.post("/fhir/Claim/$submit", content=body, headers={"Content-Type": FHIR_JSON})
    assert retried.status_code == 200
    assert counts()["cases"] == before["cases"] + 1
