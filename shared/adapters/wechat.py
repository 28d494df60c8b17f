"""The WeChat server API, as the backend uses it (see ../shared/docs/wechat.md).

WeChat answers HTTP 200 even for errors; `errcode` decides. Its answers are mapped to the
domain errors the edge understands. The `session_key` WeChat returns is dropped here: it is
never stored and never leaves this module.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

import urllib3

from shared import errors
from shared.domain.outcomes import Outcome, Written
from shared.log import logger

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 3.0

# errcodes from ../shared/docs/wechat.md
INVALID_CODE = 40029
CODE_USED = 40163
RATE_LIMITED = 45011
HIGH_RISK_USER = 40226
SYSTEM_BUSY = -1
INVALID_TOKEN = 40001
NO_SUBSCRIPTION = 43101
INVALID_TEMPLATE_FIELD = 47003
INVALID_TEMPLATE_ID = 40037
USER_AWAY = 61010  # msgSecCheck: the user has not opened the mini-program in the last two hours
INVALID_OPENID = 40003
UNCHECKABLE = (USER_AWAY, INVALID_OPENID)


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None


class WeChatClient:
    def __init__(
        self, base_url: str, appid: str, secret: str, http: urllib3.PoolManager | None = None
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._http = http or urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
            # Retry a refused connection once; never re-send a request that may have been read,
            # since a login code works only once.
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, redirect=0),
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        fields: dict[str, str] | None = None,
        payload: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        # The query may carry the access token: only `path` is ever logged.
        url = self._base_url + path + (f"?{urlencode(query)}" if query else "")
        try:
            if payload is None:
                response = self._http.request(method, url, fields=fields)
            else:
                response = self._http.request(
                    method,
                    url,
                    body=json.dumps(payload, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json"},
                )
        except urllib3.exceptions.HTTPError as exc:
            logger.warning("wechat unreachable", extra={"path": path, "error": type(exc).__name__})
            # Not chained: urllib3's message quotes the URL, whose query holds the access token or
            # the login code and app secret, and a chained cause is printed by any logged traceback.
            raise errors.UpstreamUnavailable("wechat") from None
        if response.status >= 500:
            logger.warning("wechat server error", extra={"path": path, "http_status": response.status})
            raise errors.UpstreamUnavailable("wechat")
        try:
            answer = json.loads(response.data)
        except ValueError as exc:
            raise errors.UpstreamUnavailable("wechat") from exc
        if not isinstance(answer, dict):
            raise errors.UpstreamUnavailable("wechat")
        return answer

    def code2session(self, code: str) -> WeChatSession:
        """Exchange a `wx.login` code for the user's openid."""
        fields = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        for attempt in (1, 2):
            answer = self._call("GET", "/sns/jscode2session", fields=fields)
            errcode = int(answer.get("errcode") or 0)
            if errcode == SYSTEM_BUSY and attempt == 1:
                continue  # WeChat asks for one retry when busy
            break
        if errcode == 0 and isinstance(answer.get("openid"), str) and answer["openid"]:
            unionid = answer.get("unionid")
            return WeChatSession(
                openid=answer["openid"], unionid=unionid if isinstance(unionid, str) else None
            )
        logger.info("wechat login refused", extra={"errcode": errcode})
        if errcode in (INVALID_CODE, CODE_USED):
            raise errors.Unauthorized("login_code")
        if errcode == RATE_LIMITED:
            raise errors.RateLimited("wechat_login", retry_after=60)
        if errcode == HIGH_RISK_USER:
            raise errors.Forbidden("wechat_risk")
        raise errors.UpstreamUnavailable("wechat")

    def stable_token(self, force_refresh: bool = False) -> tuple[str, int]:
        """`POST /cgi-bin/stable_token`: the app's access token and its lifetime in seconds."""
        payload = {
            "grant_type": "client_credential",
            "appid": self._appid,
            "secret": self._secret,
            "force_refresh": force_refresh,
        }
        answer = self._call("POST", "/cgi-bin/stable_token", payload=payload)
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if isinstance(token, str) and token and isinstance(expires_in, int) and expires_in > 0:
            return token, expires_in
        logger.warning("wechat token refused", extra={"errcode": answer.get("errcode")})
        raise errors.UpstreamUnavailable("wechat")

    def authorized_call(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST `payload` to an API that takes `?access_token=`."""
        return self._call("POST", path, payload=payload, query={"access_token": token})


# ---- the access token, shared by every function (see shared/store/wechat.py) ----

# Refresh this long before the stored expiry: WeChat's old and new tokens overlap for 5 minutes.
TOKEN_REFRESH_MARGIN_SECONDS = 300
# A refresher holds the lease at most this long; a crashed one blocks nobody for longer.
TOKEN_LEASE_SECONDS = 10
# While another container refreshes, wait this long between reads, at most this many times.
TOKEN_WAIT_SECONDS = 0.2
TOKEN_MAX_WAITS = 10
# A token whose refresh is under way is still used while it has at least this much life left.
TOKEN_MIN_REMAINING_SECONDS = 30


@dataclass(frozen=True)
class CachedToken:
    token: str | None
    expires_at: float
    version: int
    lease_until: float


class TokenStore(Protocol):
    def read(self, appid: str) -> CachedToken | None: ...
    def acquire(
        self, appid: str, seen: CachedToken | None, owner: str, until: float, now: float
    ) -> Outcome: ...
    def publish(self, appid: str, owner: str, token: str, expires_at: float) -> Outcome: ...


class TokenSource(Protocol):
    def stable_token(self, force_refresh: bool = False) -> tuple[str, int]: ...


class AccessTokens:
    """The app's access token: in memory per container, in one DynamoDB item for all of them.

    A warm container pays nothing; a cold one reads the item once. Near expiry one container
    wins the lease (a conditional write) and asks WeChat; the others keep using the current
    token (still valid for the overlap) or wait briefly for the winner's. `force_refresh` is
    used only to replace a token WeChat rejected with 40001, and only if nobody replaced it yet.
    """

    def __init__(
        self,
        appid: str,
        source: TokenSource,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._appid = appid
        self._source = source
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._memory: CachedToken | None = None

    def get(self) -> str:
        memory = self._memory
        if memory and memory.token and memory.expires_at - TOKEN_REFRESH_MARGIN_SECONDS > self._clock():
            return memory.token
        return self._refresh(rejected=None)

    def replace(self, rejected: str) -> str:
        """After a 40001: a newer token if another container has one, else a forced refresh."""
        self._memory = None
        return self._refresh(rejected=rejected)

    def _usable(self, stored: CachedToken | None, rejected: str | None, margin: float) -> bool:
        return bool(
            stored
            and stored.token
            and stored.token != rejected
            and stored.expires_at - margin > self._clock()
        )

    def _refresh(self, rejected: str | None) -> str:
        owner = secrets.token_hex(8)
        for _ in range(TOKEN_MAX_WAITS):
            stored = self._store.read(self._appid)
            if stored and self._usable(stored, rejected, TOKEN_REFRESH_MARGIN_SECONDS):
                self._memory = stored
                return str(stored.token)
            now = self._clock()
            lease_free = stored is None or stored.lease_until <= now
            if lease_free and isinstance(
                self._store.acquire(self._appid, stored, owner, now + TOKEN_LEASE_SECONDS, now), Written
            ):
                force = rejected is not None and stored is not None and stored.token == rejected
                token, expires_in = self._source.stable_token(force_refresh=force)
                expires_at = self._clock() + expires_in
                self._store.publish(self._appid, owner, token, expires_at)
                self._memory = CachedToken(token, expires_at, (stored.version if stored else 0) + 1, 0)
                return token
            if stored and self._usable(stored, rejected, TOKEN_MIN_REMAINING_SECONDS):
                return str(stored.token)  # another container is refreshing; this one is still good
            self._sleep(TOKEN_WAIT_SECONDS)
        # The refresher is stuck: a plain stable_token call returns the current token without
        # invalidating anybody's, so this container may fetch it for itself.
        token, expires_in = self._source.stable_token(force_refresh=False)
        self._memory = CachedToken(token, self._clock() + expires_in, -1, 0)
        return token


# ---- messages and the content check ----

SendOutcome = Literal["sent", "owed"]
Suggestion = Literal["pass", "review", "risky"]
SEC_CHECK_SCENE_COMMENT = 2
MAX_SEC_CHECK_CHARS = 2500  # WeChat's limit per msgSecCheck call
MAX_SEC_CHECK_CHUNKS = 4  # longer texts are refused rather than cost many calls
MAX_THING_CHARS = 20  # a subscribe message's `thing` values
_SEVERITY: dict[str, int] = {"pass": 0, "review": 1, "risky": 2}


MessageRejected = errors.MessageRejected


class WeChatMessaging:
    """Subscribe messages and msgSecCheck, with the shared access token (40001: refresh once)."""

    def __init__(self, client: WeChatClient, tokens: AccessTokens, miniprogram_state: str = "formal") -> None:
        self._client = client
        self._tokens = tokens
        self._state = miniprogram_state

    def _post(self, path: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = self._tokens.get()
        answer = self._client.authorized_call(path, token, payload)
        errcode = int(answer.get("errcode") or 0)
        if errcode == INVALID_TOKEN:
            logger.info("wechat token rejected; refreshing once", extra={"path": path})
            answer = self._client.authorized_call(path, self._tokens.replace(token), payload)
            errcode = int(answer.get("errcode") or 0)
        return errcode, answer

    def send_subscribe_message(
        self, openid: str, template_id: str, page: str, data: dict[str, str]
    ) -> SendOutcome:
        """Send one subscribe message: "sent", or "owed" when the user has no subscription left."""
        for name, value in data.items():
            if name.startswith("thing") and len(value) > MAX_THING_CHARS:
                raise MessageRejected(
                    INVALID_TEMPLATE_FIELD, f"{name} must be at most {MAX_THING_CHARS} characters"
                )
        payload = {
            "touser": openid,
            "template_id": template_id,
            "page": page,
            "data": {name: {"value": value} for name, value in data.items()},
            "miniprogram_state": self._state,
            "lang": "zh_CN",
        }
        errcode, _ = self._post("/cgi-bin/message/subscribe/send", payload)
        if errcode == 0:
            return "sent"
        if errcode == NO_SUBSCRIPTION:
            return "owed"  # not a fault: the user must allow a message first; show it in-app
        logger.warning("wechat message refused", extra={"errcode": errcode})
        if errcode in (INVALID_TEMPLATE_FIELD, INVALID_TEMPLATE_ID):
            raise MessageRejected(errcode)
        raise errors.UpstreamUnavailable("wechat")

    def check_text(self, openid: str, text: str) -> Suggestion:
        """msgSecCheck v2 (scene: comment) on `text`; the worst verdict of its chunks."""
        chunks = [text[i : i + MAX_SEC_CHECK_CHARS] for i in range(0, len(text), MAX_SEC_CHECK_CHARS)]
        if len(chunks) > MAX_SEC_CHECK_CHUNKS:
            raise errors.invalid(
                "text", "too_long", "check_length", max=MAX_SEC_CHECK_CHARS * MAX_SEC_CHECK_CHUNKS
            )
        verdict: Suggestion = "pass"
        for chunk in chunks or [""]:
            suggest = self._check_chunk(openid, chunk)
            if _SEVERITY[suggest] > _SEVERITY[verdict]:
                verdict = suggest
            if verdict == "risky":
                break
        return verdict

    def _check_chunk(self, openid: str, chunk: str) -> Suggestion:
        if not openid:  # the author deleted their account before a queued check
            raise errors.ContentUncheckable("wechat_no_openid")
        payload = {"version": 2, "openid": openid, "scene": SEC_CHECK_SCENE_COMMENT, "content": chunk}
        for attempt in (1, 2):
            errcode, answer = self._post("/wxa/msg_sec_check", payload)
            if errcode == SYSTEM_BUSY and attempt == 1:
                continue
            break
        result = answer.get("result")
        suggest = result.get("suggest") if isinstance(result, dict) else None
        if errcode == 0 and suggest in ("pass", "review", "risky"):
            return suggest  # type: ignore[no-any-return]
        if errcode in UNCHECKABLE:
            logger.info("wechat cannot check this text", extra={"errcode": errcode})
            raise errors.ContentUncheckable(f"wechat_{errcode}")
        logger.warning("wechat content check failed", extra={"errcode": errcode})
        raise errors.UpstreamUnavailable("content_check")
