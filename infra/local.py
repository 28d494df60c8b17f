"""`make run`: the whole system on this machine.

Starts an embedded moto server on 127.0.0.1 (or uses AWS_ENDPOINT_URL when set), the fake
WeChat API, creates the stage's resources if missing, seeds demo data, and serves the local
gateway on 127.0.0.1:8000 (PORT overrides; 0 picks a free port). Ctrl-C or SIGTERM stops all
of it; every part runs in this one process, so nothing is left behind.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var")  # where local secrets and the outbox live
DEFAULT_PORT = 8000


# The local stage's secrets by the variable each is given as: the WeChat secret (the fake's) and
# one key per purpose, as a deployed stage has one SSM parameter per purpose.
LOCAL_SECRETS = {
    "WECHAT_SECRET": 24,
    "REVIEW_LINK_KEY": 32,
    "CONSOLE_KEY": 32,
    "CURSOR_KEY": 32,
    "CONSENT_RECEIPT_KEY": 32,  # the seed of the local receipt key
}


def atomic_dynamodb_calls() -> Callable[[], None]:
    """Make each of moto's DynamoDB calls atomic, as the real service's are; returns the undo.

    moto's backend is not thread-safe: concurrent transactions can wipe each other's writes, and a
    conditional write is not atomic across threads (../shared/docs/architecture.md). With one lock
    per call, requests still interleave between their calls (gate read, content check,
    transaction), which is the concurrency the code must survive.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    def undo() -> None:
        DynamoHandler.call_action = original  # type: ignore[method-assign]

    return undo


def local_secrets(var: Path = VAR) -> dict[str, str]:
    """Secrets for the local stage, generated once into var/ (never committed); one missing from
    an older var/ (which had a single signing key) is added, the others kept."""
    path = var / "local-secrets.json"
    kept = dict(json.loads(path.read_text())) if path.exists() else {}
    values = {name: kept.get(name) or secrets.token_urlsafe(size) for name, size in LOCAL_SECRETS.items()}
    if values != kept:
        var.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        path.chmod(0o600)
    return values


class LocalStack:
    """Every local part, started in order and stopped in reverse."""

    def __init__(self, port: int = DEFAULT_PORT, endpoint_url: str | None = None, var: Path = VAR) -> None:
        self.port = port
        self.external_endpoint = endpoint_url
        self.var = var
        self._moto: Any = None
        self._wechat: Any = None
        self._tms: Any = None
        self._http: Any = None
        self._stop_pump = threading.Event()
        self._pump_thread: threading.Thread | None = None
        self._queue_thread: threading.Thread | None = None

    def start(self) -> str:
        for noisy in ("werkzeug", "botocore", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        env = os.environ
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
        env["STAGE"] = "local"
        env.setdefault("CONSENT_CACHE_SECONDS", "2")  # a newly published version shows within 2 s
        if self.external_endpoint:
            env["AWS_ENDPOINT_URL"] = self.external_endpoint
        else:
            from moto.server import ThreadedMotoServer

            atomic_dynamodb_calls()  # this process's own moto: its calls atomic, as DynamoDB's
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._moto.start()
            host, moto_port = self._moto.get_host_and_port()
            env["AWS_ENDPOINT_URL"] = f"http://{host}:{moto_port}"

        from infra.fake_wechat import FakeWeChatServer

        keys = local_secrets(self.var)
        env.setdefault("WECHAT_APPID", "wx-local-app")
        env.update(keys)
        self._wechat = FakeWeChatServer(env["WECHAT_APPID"], keys["WECHAT_SECRET"]).start()
        env["WECHAT_BASE_URL"] = self._wechat.base_url
        if env.get("CONTENT_CHECK", "").strip().lower() == "tms":  # the stage checks with TMS
            from infra.fake_tms import FakeTmsServer

            env["TMS_SECRET_ID"], env["TMS_SECRET_KEY"] = "AKIDlocal", secrets.token_urlsafe(24)
            self._tms = FakeTmsServer(env["TMS_SECRET_ID"], env["TMS_SECRET_KEY"]).start()
            env["TMS_BASE_URL"] = self._tms.base_url

        from werkzeug.serving import make_server

        from infra.gateway import create_app

        # Bind first, so PORT=0 learns its port before the config (and reviewer links) name it.
        self._http = make_server("127.0.0.1", self.port, create_app(), threaded=True)
        self.port = self._http.server_port
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{self.port}"
        env.setdefault("OUTBOX_PATH", str(self.var / "outbox.jsonl"))
        # The review result goes to the fake WeChat too, as a deployed stage sends it.
        env.setdefault("WECHAT_RESULT_TEMPLATE_ID", "local-result-template")

        from infra import resources, seed
        from shared import config, wiring

        wiring.reset()
        cfg = config.current()
        created = resources.ensure(cfg)
        seed.seed(cfg)
        self._start_funnel(cfg)
        self._start_content_checks(cfg)
        self.summary = {
            "api": env["PUBLIC_BASE_URL"],
            "openapi": f"{env['PUBLIC_BASE_URL']}/openapi.json",
            "aws_endpoint": env["AWS_ENDPOINT_URL"],
            "wechat_fake": self._wechat.base_url,
            "tables_created": len(created.tables),
        }
        return str(env["PUBLIC_BASE_URL"])

    def _start_funnel(self, cfg: Any) -> None:
        """The users table's stream to the funnel count, as Lambda's event source mapping would."""
        from functions.funnel import count
        from infra.streams import StreamPump

        pump = StreamPump(cfg, cfg.table("users"), count)
        self._pump_thread = threading.Thread(target=pump.run, args=(self._stop_pump,), daemon=True)
        self._pump_thread.start()

    def _start_content_checks(self, cfg: Any) -> None:
        """The paced content check's queue (moto's SQS) to its worker, as Lambda's SQS event source
        mapping would: polled every half second."""
        from functions.content_check import check
        from infra.queues import QueuePump

        pump = QueuePump(cfg, cfg.check_queue_name, check)
        self._queue_thread = threading.Thread(target=pump.run, args=(self._stop_pump,), daemon=True)
        self._queue_thread.start()

    def serve_forever(self) -> None:
        self._http.serve_forever()

    def stop(self) -> None:
        self._stop_pump.set()
        for thread in (self._pump_thread, self._queue_thread):
            if thread is not None:
                thread.join(timeout=5)
        if self._http is not None:
            self._http.server_close()
        for fake in (self._wechat, self._tms):
            if fake is not None:
                fake.stop()
        if self._moto is not None:
            self._moto.stop()


def main() -> int:
    port = int(os.environ.get("PORT", DEFAULT_PORT))
    stack = LocalStack(port=port, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    base_url = stack.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return, so it must run off the serving thread.
        threading.Thread(target=stack._http.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"serving on {base_url}", flush=True)
    for name, value in stack.summary.items():
        print(f"  {name:15} {value}", flush=True)
    print("  outbox          var/outbox.jsonl (reviewer and sign-in links, user messages)", flush=True)
    print(
        f"  console         {base_url}/console (sign in as demo-admin: the link is in the outbox)", flush=True
    )
    print("Ctrl-C stops everything.", flush=True)
    try:
        stack.serve_forever()
    finally:
        stack.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
