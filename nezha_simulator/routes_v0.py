"""The v0.20.13 token API (NEZHA_API.md Part A) of the simulator.

Routing follows gin in release mode at v0.20.13: only ``GET`` is routed, anything else (unknown
path, wrong method, ``HEAD``) gets the dashboard's HTML 404 page. The API token is the raw
``Authorization`` header (no ``Bearer``); ``/monitor/:id`` also accepts the site's view password.
"""

import hmac
import re

from aiohttp import hdrs, web

from .gojson import GoJSON, dumps
from .world import NezhaWorld

AUTH_REQUIRED_MESSAGE = "访问此接口需要认证"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"

PAGE_404 = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>该页面不存在 - 哪吒监控</title>
</head>
<body>
<div class="ui container">
<h1>404</h1>
<h2>该页面不存在</h2>
<p>该页面内容可能已着陆火星</p>
<a class="ui button" href="/">返回首页</a>
</div>
</body>
</html>
"""

_UINT64 = re.compile(r"[0-9]{1,20}")
_MONITOR_PREFIX = "/api/v1/monitor/"
_VIEW_PASSWORD_COOKIE = "nezha-dashboard-vp"


def parse_uint64(text: str) -> int | None:
    """``strconv.ParseUint(text, 10, 64)``: ASCII digits only, no sign or spaces, in range."""
    if not _UINT64.fullmatch(text):
        return None
    value = int(text)
    return value if value < 2**64 else None


def _json(payload: GoJSON, status: int = 200) -> web.Response:
    """A gin ``c.JSON`` response."""
    return web.Response(
        status=status,
        body=dumps(payload).encode(),
        headers={hdrs.CONTENT_TYPE: JSON_CONTENT_TYPE},
    )


def _html(page: str, status: int) -> web.Response:
    """A gin ``c.HTML`` response."""
    return web.Response(
        status=status, body=page.encode(), headers={hdrs.CONTENT_TYPE: HTML_CONTENT_TYPE}
    )


class V0Routes(NezhaWorld):
    """The v0 handlers, on the world they render; ``NezhaSimulator`` sets the two credentials."""

    token: str | None
    view_password: str | None

    def _route_v0(self, request: web.Request) -> web.Response:
        """The v0.20.13 routes; everything else is the HTML 404 page."""
        path = request.path
        if request.method == hdrs.METH_GET:
            if path == "/api/v1/server/list":
                return self._server_list(request)
            if path == "/api/v1/server/details":
                return self._server_details(request)
            server_id = path.removeprefix(_MONITOR_PREFIX)
            if path.startswith(_MONITOR_PREFIX) and server_id and "/" not in server_id:
                return self._monitor(request, server_id)
        return _html(PAGE_404, 404)

    def _authorized(self, request: web.Request) -> bool:
        """Whether the raw ``Authorization`` header is the API token (no ``Bearer``)."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        return (
            self.token is not None
            and header != ""
            and hmac.compare_digest(header.encode(), self.token.encode())
        )

    def _server_list(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/list?tag=``: ``CommonServerInfo`` only, display fields zeroed."""
        if not self._authorized(request):
            return _json({"code": 403, "message": AUTH_REQUIRED_MESSAGE})
        servers = self.ordered(tag=request.query.get("tag", ""))
        result: list[GoJSON] = [self.common_info(server) for server in servers]
        return _json({"code": 0, "message": "success", "result": result})

    def _server_details(self, request: web.Request) -> web.Response:
        """``GET /api/v1/server/details?id=&tag=``: tag wins over id, neither means all."""
        if not self._authorized(request):
            return _json({"code": 403, "message": AUTH_REQUIRED_MESSAGE})
        tag = request.query.get("tag", "")
        ids = request.query.get("id", "")
        if tag:
            servers, with_display = self.ordered(tag=tag), False
        elif ids:
            servers = self.by_ids(parse_uint64(part) or 0 for part in ids.split(","))
            with_display = False
        else:
            servers, with_display = self.ordered(), True
        result: list[GoJSON] = [
            self.status_response(server, with_display=with_display) for server in servers
        ]
        return _json({"code": 0, "message": "success", "result": result})

    def _monitor(self, request: web.Request, raw_id: str) -> web.Response:
        """``GET /api/v1/monitor/:server_id`` with the checks in the dashboard's order."""
        authorized = self._authorized(request)
        if not authorized and self.view_password is not None:
            if request.cookies.get(_VIEW_PASSWORD_COOKIE) != self.view_password:
                return _json({"code": 403, "message": "访问受限"})
            authorized = True
        server_id = parse_uint64(raw_id)
        if server_id is None:
            return _json({"code": 400, "message": "id参数错误"}, 400)
        server = self.servers.get(server_id)
        if server is None:
            return _json({"code": 404, "message": "id不存在"}, 404)
        if server.hide_for_guest and not authorized:
            return _json({"code": 403, "message": "需要认证"}, 403)
        result = self.monitor_histories(server_id)
        return _json({"code": 0, "message": "success", "result": result})
