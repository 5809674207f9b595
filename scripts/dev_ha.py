"""Set up a freshly started Home Assistant for ``scripts/develop`` over its REST API.

Waits for Home Assistant (and the simulator) to answer, completes onboarding with the demo user
(or logs in with it when onboarding was done on an earlier run), then adds the Nezha config entry
for the simulator unless ``--no-entry`` is given or one exists: through the config flow, as the UI
does, with what the simulator's ``--generation`` takes (0.x token, 1.x login, 2.x menu then PAT).
``--check`` then waits until the demo servers are devices with numeric CPU-usage states, and fails
if they don't appear in time.

Only the standard library is used, so any Python from 3.11 on runs it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
import os
import socket
import sys
import time
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password-1"  # a public demo value, printed by scripts/develop
DEMO_SERVERS = ("web-1", "web-2", "gpu-lab", "nas", "fresh-vps")
REPORTING_SERVERS = ("web-1", "web-2", "gpu-lab")  # nas is offline, fresh-vps never reported
ONBOARDING_ENTRIES = ("google_translate", "met", "radio_browser", "shopping_list")
"""Entries onboarding's core_config step adds in the background; removed once HA has started
(radio_browser and met retry forever without internet access)."""


class SetupError(Exception):
    """A step failed; the message says which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Keep the HTTP status, if the error is an HTTP answer."""
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """What the demo dashboard of one generation is signed in with (public demo values)."""

    generation: str
    token: str
    username: str
    password: str
    pat: str

    @property
    def secret(self) -> str:
        """The value of the ``api_token`` field: the 0.x token or the 2.x PAT."""
        return self.pat if self.generation == "v2" else self.token


def expect_step(answer: dict[str, Any], kind: str, step_id: str, generation: str) -> None:
    """Fail unless the flow shows the step a dashboard of ``generation`` leads to."""
    if answer.get("type") != kind or answer.get("step_id") != step_id:
        raise SetupError(
            f"the Nezha config flow should show the {kind} {step_id!r} for a {generation} "
            f"dashboard, but answered: {answer}"
        )


class HomeAssistant:
    """A small client for the few REST calls needed here."""

    def __init__(self, url: str, ha_pid: int | None) -> None:
        """Talk to Home Assistant at ``url``; ``ha_pid`` is watched while waiting for it."""
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.ha_pid = ha_pid
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        form: dict[str, str] | None = None,
        timeout: float = 30,
        raw: bool = False,
    ) -> Any:
        """One call; returns the decoded JSON answer (the text if ``raw``); raises SetupError."""
        headers = {}
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        request = Request(f"{self.url}{path}", data=data, headers=headers, method=method)
        try:
            with urlopen(request, timeout=timeout) as response:
                text = response.read().decode()
        except HTTPError as err:
            detail = err.read().decode(errors="replace")[:500]
            raise SetupError(f"{method} {path}: HTTP {err.code} {detail}", err.code) from None
        if raw:
            return text
        try:
            return json.loads(text) if text else None
        except ValueError:
            raise SetupError(f"{method} {path}: not JSON: {text[:200]!r}") from None

    def check_alive(self, what: str) -> None:
        """Fail at once when the watched Home Assistant process is gone."""
        if self.ha_pid is None:
            return
        try:
            os.kill(self.ha_pid, 0)
        except ProcessLookupError:
            raise SetupError(f"Home Assistant exited while waiting for {what}") from None
        except PermissionError:
            pass

    def onboarding_steps(self) -> list[dict[str, Any]] | None:
        """The onboarding steps ([] when all are done), or None if HA is not ready to say."""
        try:
            self.request("GET", "/auth/providers", timeout=5)
        except SetupError as err:
            if err.status != 400:  # 400: "onboarding_required"; 404: not set up yet
                return None
            user_onboarded = False
        else:
            user_onboarded = True
        try:
            steps: list[dict[str, Any]] = self.request("GET", "/api/onboarding", timeout=5)
        except SetupError as err:
            # Once onboarding is complete, its views are not registered any more.
            return [] if user_onboarded and err.status == 404 else None
        return steps

    def wait_onboarding(self, deadline: float) -> list[dict[str, Any]]:
        """Wait until the HTTP server answers; returns the onboarding steps."""
        while True:
            self.check_alive("its HTTP server")
            try:
                steps = self.onboarding_steps()
            except (URLError, ConnectionError, TimeoutError) as err:
                problem = str(err)
            else:
                if steps is not None:
                    return steps
                problem = "onboarding state unknown"
            if time.monotonic() > deadline:
                raise SetupError(f"Home Assistant did not answer at {self.url}: {problem}")
            time.sleep(0.5)

    def onboard(self, steps: list[dict[str, Any]]) -> bool:
        """Complete onboarding (creating the demo user) or log in; True if it onboarded now."""
        done = {step["step"]: step["done"] for step in steps}
        onboarded_now = not done.get("user", True)
        if onboarded_now:
            answer = self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": "Demo",
                    "username": DEMO_USER,
                    "password": DEMO_PASSWORD,
                    "language": "en",
                },
            )
            self.get_token(answer["auth_code"])
        else:
            self.login()
        if not done.get("core_config", True):
            self.request("POST", "/api/onboarding/core_config", {})
        if not done.get("analytics", True):
            self.request("POST", "/api/onboarding/analytics", {})
        if not done.get("integration", True):
            self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
            )
        return onboarded_now

    def get_token(self, code: str) -> None:
        """Trade an authorization code for an access token."""
        answer = self.request(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        self.token = answer["access_token"]

    def login(self) -> None:
        """Log in as the demo user through the login flow."""
        flow = self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        answer = self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"username": DEMO_USER, "password": DEMO_PASSWORD, "client_id": self.client_id},
        )
        if answer.get("type") != "create_entry":
            raise SetupError(
                f"could not log in as {DEMO_USER!r} (was its password changed?): "
                f"{answer.get('errors')}"
            )
        self.get_token(answer["result"])

    def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        """The config entries (of one domain)."""
        query = f"?domain={domain}" if domain else ""
        entries: list[dict[str, Any]] = self.request(
            "GET", f"/api/config/config_entries/entry{query}"
        )
        return entries

    def remove_onboarding_entries(self, wait: float = 15, quiet: float = 2) -> list[str]:
        """Remove the entries onboarding added that this demo has no use for; returns their domains.

        Their flows run in the background (and in-progress flows can't be listed over REST):
        look for a while, until none has turned up for ``quiet`` seconds, at most ``wait``.
        """
        removed: list[str] = []
        now = time.monotonic()
        give_up, quiet_until = now + wait, now + quiet
        while True:
            entries = [e for e in self.entries() if e["domain"] in ONBOARDING_ENTRIES]
            for entry in entries:
                self.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
                removed.append(entry["domain"])
            now = time.monotonic()
            if entries:
                quiet_until = now + quiet
            if now >= quiet_until or now >= give_up:
                return removed
            time.sleep(0.5)

    def add_nezha_entry(self, sim_url: str, credentials: Credentials) -> tuple[str, str]:
        """Run the Nezha config flow for the simulator as a user would; returns the entry's title
        and ID.

        The URL first; the flow detects the dashboard's generation and asks for what it takes:
        0.x the API token, 1.x a login, 2.x a menu (here: a personal access token).
        """
        flow = self.request("POST", "/api/config/config_entries/flow", {"handler": "nezha"})
        if flow.get("type") != "form":
            raise SetupError(f"the Nezha config flow did not show its form: {flow}")
        step = f"/api/config/config_entries/flow/{flow['flow_id']}"
        answer = self.request("POST", step, {"url": sim_url, "verify_ssl": True})
        if credentials.generation == "v2":
            expect_step(answer, "menu", "auth_method", credentials.generation)
            answer = self.request("POST", step, {"next_step_id": "token"})
        if credentials.generation == "v1":
            expect_step(answer, "form", "login", credentials.generation)
            login = {"username": credentials.username, "password": credentials.password}
            answer = self.request("POST", step, login)
        else:
            # 0.x's API token and 2.x's access token have a step each (and one field).
            token_step = "token" if credentials.generation == "v2" else "api_token"
            expect_step(answer, "form", token_step, credentials.generation)
            answer = self.request("POST", step, {"api_token": credentials.secret})
        if answer.get("type") != "create_entry":
            raise SetupError(f"the Nezha config flow did not create an entry: {answer}")
        return str(answer["title"]), str(answer["result"]["entry_id"])

    def enable_actions(self, entry_id: str) -> None:
        """Turn the entry's Actions option on through the options flow (1.x/2.x), the rest as is."""
        flow = self.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        expect_step(flow, "form", "init", "1.x/2.x")
        options = {
            "scan_interval": 30,
            "monitor_interval": 60,
            "online_threshold": 30,
            "live_updates": True,
            "actions": True,
        }
        step = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        answer = self.request("POST", step, options)
        if answer.get("type") != "create_entry":
            raise SetupError(f"the Nezha options flow did not save the options: {answer}")

    def wait_running(self, deadline: float) -> None:
        """Wait until Home Assistant has finished starting (a stop then saves everything)."""
        while True:
            self.check_alive("it to finish starting")
            state = self.request("GET", "/api/config").get("state")
            if state == "RUNNING":
                return
            if time.monotonic() > deadline:
                raise SetupError(f"Home Assistant did not finish starting (state {state})")
            time.sleep(0.5)

    def template(self, template: str) -> str:
        """Render a template."""
        return str(self.request("POST", "/api/template", {"template": template}, raw=True))


def wait_port(url: str, deadline: float) -> None:
    """Wait until something accepts connections at the URL's host and port."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    while True:
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as err:
            if time.monotonic() > deadline:
                raise SetupError(f"nothing answered at {url}: {err}") from None
            time.sleep(0.2)


def cpu_entity(server: str) -> str:
    """The CPU usage sensor of a demo server (HA slugifies the device name)."""
    return f"sensor.{server.replace('-', '_')}_cpu_usage"


def check_demo(ha: HomeAssistant, deadline: float) -> None:
    """Wait until the demo servers are devices of the entry and their CPU usage is numeric."""
    device_names_template = (
        "{{ integration_entities('nezha') | map('device_id') | reject('none') | unique"
        " | map('device_attr', 'name') | list | tojson }}"
    )
    while True:
        ha.check_alive("the demo servers")
        entries = ha.entries("nezha")
        devices = set(json.loads(ha.template(device_names_template) or "[]"))
        states = {state["entity_id"]: state["state"] for state in ha.request("GET", "/api/states")}
        missing = [name for name in DEMO_SERVERS if name not in devices]
        not_numeric = []
        for server in REPORTING_SERVERS:
            try:
                float(states.get(cpu_entity(server), ""))
            except ValueError:
                not_numeric.append(cpu_entity(server))
        loaded = bool(entries) and all(entry["state"] == "loaded" for entry in entries)
        if loaded and not missing and not not_numeric:
            break
        if time.monotonic() > deadline:
            raise SetupError(
                f"demo check failed: entries {[e['state'] for e in entries]}, devices missing "
                f"{missing}, states not numeric {not_numeric}"
            )
        time.sleep(1)
    for server in REPORTING_SERVERS:
        print(f"  check: {cpu_entity(server)} = {states[cpu_entity(server)]} %", flush=True)
    print(f"  check: devices {sorted(devices)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the set-up; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ha-url", default="http://127.0.0.1:8123")
    parser.add_argument("--sim-url", default="http://127.0.0.1:8008")
    parser.add_argument("--generation", choices=("v0", "v1", "v2"), default="v2")
    parser.add_argument("--token", required=True, help="the simulator's 0.x API token")
    parser.add_argument("--nezha-user", default="admin", help="the 1.x login's user name")
    parser.add_argument("--nezha-password", required=True, help="the 1.x login's password")
    parser.add_argument("--pat", required=True, help="the simulator's 2.x PAT")
    parser.add_argument("--ha-pid", type=int, help="Home Assistant's process, to stop waiting")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait in all")
    parser.add_argument("--no-entry", action="store_true", help="don't add the Nezha entry")
    parser.add_argument("--check", action="store_true", help="check the demo servers appear")
    args = parser.parse_args(argv)

    deadline = time.monotonic() + args.timeout
    ha = HomeAssistant(args.ha_url, args.ha_pid)
    try:
        wait_port(args.sim_url, min(deadline, time.monotonic() + 60))
        started = time.monotonic()
        steps = ha.wait_onboarding(deadline)
        print(f"  Home Assistant answers ({time.monotonic() - started:.1f} s)", flush=True)
        onboarded_now = ha.onboard(steps)
        if onboarded_now:
            print(f"  onboarding done: user {DEMO_USER!r} created", flush=True)
        if args.no_entry:
            print("  no Nezha entry added (--no-entry): add it in the UI", flush=True)
        elif ha.entries("nezha"):
            print("  the Nezha entry exists already", flush=True)
        else:
            credentials = Credentials(
                args.generation, args.token, args.nezha_user, args.nezha_password, args.pat
            )
            title, entry_id = ha.add_nezha_entry(args.sim_url, credentials)
            how = {"v0": "API token", "v1": "login", "v2": "personal access token"}
            print(
                f"  Nezha entry {title!r} added ({args.generation}, {how[args.generation]})",
                flush=True,
            )
            if args.generation != "v0":  # 0.x has no write API
                ha.enable_actions(entry_id)
                print("  actions turned on (switches, task buttons, agent updates)", flush=True)
        ha.wait_running(deadline)
        print(f"  Home Assistant started ({time.monotonic() - started:.1f} s)", flush=True)
        if onboarded_now:
            removed = ha.remove_onboarding_entries()
            print(f"  removed the entries onboarding added: {', '.join(sorted(removed)) or 'none'}")
        if args.check:
            if args.no_entry:
                raise SetupError("--check needs the Nezha entry: leave out --no-entry")
            check_demo(ha, deadline)
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
