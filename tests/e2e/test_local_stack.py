"""The local stack over real HTTP, started as `make run` starts it."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.e2e.conftest import Client, RunningStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e


def test_login_me_logout_over_http(client: Client) -> None:
    body = client.login("alice")
    assert body["user"]["next_step"] == "identity_agreement"
    me = client.call("GET", "/v1/me")
    assert me.status_code == 200
    assert me.json()["next_step"] == "identity_agreement"
    assert me.headers["X-Request-Id"]
    assert client.call("POST", "/v1/auth/logout").status_code == 200
    assert client.call("GET", "/v1/me").status_code == 401


def test_openapi_and_unknown_paths(stack: RunningStack) -> None:
    assert requests.get(stack.url("/openapi.json"), timeout=5).json()["openapi"].startswith("3.1")
    missing = requests.get(stack.url("/nowhere"), timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", "application/json"),
        (b"{", "application/json"),
        (b"[1,2]", "application/json"),
        (b'{"code": 7}', "application/json"),
        (b'{"code": ""}', "application/json"),
        (b"\x00\xff\xfe", "application/json"),
        (b'{"code": "' + b"x" * 200_000 + b'"}', "application/json"),
        (b"code=dev:a", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_logins_over_http_are_4xx(stack: RunningStack, data: bytes, content_type: str) -> None:
    reply = requests.post(
        stack.url("/v1/auth/login"), data=data, headers={"Content-Type": content_type}, timeout=5
    )
    assert 400 <= reply.status_code < 500
    assert reply.json()["error"]["code"]


def test_huge_bodies_are_refused_before_the_handler(stack: RunningStack) -> None:
    reply = requests.post(stack.url("/v1/auth/login"), data=b"x" * (11 * 1024 * 1024), timeout=30)
    assert reply.status_code == 413


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0


def test_sigterm_stops_everything(tmp_path: Path) -> None:
    running = start_stack(tmp_path)
    endpoint = next(line.split()[-1] for line in running.lines if line.strip().startswith("aws_endpoint"))
    wechat = next(line.split()[-1] for line in running.lines if line.strip().startswith("wechat_fake"))
    assert _port_open(running.base_url) and _port_open(endpoint) and _port_open(wechat)
    assert stop_stack(running) == 0
    assert not _port_open(running.base_url)
    assert not _port_open(endpoint)
    assert not _port_open(wechat)


def test_an_external_moto_server_is_used_when_given(tmp_path: Path) -> None:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        running = start_stack(tmp_path, {"AWS_ENDPOINT_URL": endpoint})
        try:
            tables = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1").list_tables()
            assert "hcp-local-users" in tables["TableNames"]
            client = Client(running)
            user = client.login("erin")["user"]
            item = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1").get_item(
                TableName="hcp-local-users", Key={"user_id": {"S": user["id"]}}
            )
            assert "Item" in item  # served from the external server's tables
        finally:
            stop_stack(running)
        # a second start finds the resources there and creates nothing twice
        again = start_stack(tmp_path, {"AWS_ENDPOINT_URL": endpoint})
        try:
            assert any("tables_created  0" in line for line in again.lines)
            assert _port_open(endpoint)
        finally:
            stop_stack(again)
        assert _port_open(endpoint)  # someone else's server is left running
    finally:
        moto.stop()
