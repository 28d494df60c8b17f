"""The WeChat server API, as the backend uses it (see ../shared/docs/wechat.md).

WeChat answers HTTP 200 even for errors; `errcode` decides. Its answers are mapped to the
domain errors the edge understands. The `session_key` WeChat returns is dropped here: it is
never stored and never leaves this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

from shared import errors
from shared.log import logger

CONNECT_TIMEOUT_SECONDS = 2.0
READ_TIMEOUT_SECONDS = 3.0
MAX_CODE_LENGTH = 128

# errcodes from ../shared/docs/wechat.md
INVALID_CODE = 40029
CODE_USED = 40163
RATE_LIMITED = 45011
HIGH_RISK_USER = 40226
SYSTEM_BUSY = -1


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
    ) -> dict[str, Any]:
        try:
            if payload is None:
                response = self._http.request(method, self._base_url + path, fields=fields)
            else:
                response = self._http.request(
                    method,
                    self._base_url + path,
                    fields=fields,
                    body=json.dumps(payload, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json"},
                )
        except urllib3.exceptions.HTTPError as exc:
            logger.warning("wechat unreachable", extra={"path": path, "error": type(exc).__name__})
            raise errors.UpstreamUnavailable("WeChat did not answer") from exc
        if response.status >= 500:
            logger.warning("wechat server error", extra={"path": path, "http_status": response.status})
            raise errors.UpstreamUnavailable("WeChat is unavailable")
        try:
            answer = json.loads(response.data)
        except ValueError as exc:
            raise errors.UpstreamUnavailable("WeChat answered something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise errors.UpstreamUnavailable("WeChat answered something unexpected")
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
            raise errors.Unauthorized("the login code is invalid or was already used")
        if errcode == RATE_LIMITED:
            raise errors.RateLimited("WeChat logins are too frequent; try again in a minute", retry_after=60)
        if errcode == HIGH_RISK_USER:
            raise errors.Forbidden("WeChat blocked this account as high-risk")
        raise errors.UpstreamUnavailable("WeChat login is unavailable")
