"""The real-browser test: add the Nezha integration through Home Assistant's UI, in Chromium.

Run by ``scripts/e2e`` against a Home Assistant started by ``scripts/develop --no-entry`` (onboarded,
no Nezha entry yet) and the simulator's demo fleet, which answers as a 2.x dashboard first. It logs
in, adds the integration through Settings → Devices & services → Add integration with the demo's
personal access token (URL form → sign-in menu → token form), checks the demo servers became
devices, opens one server's device page, reads a server's CPU usage on the demo dashboard's
entities card, and opens the entry's options: a server update interval out of range shows the
translated error, a valid one saves and is shown when the dialog is opened again. Then the 0.x
run: the entry is deleted, the simulator is switched to 0.x (the same fleet) and the integration
is added again through the UI with the 0.x API token, down to the dashboard card. Between the
two, actions are turned on and a task button and a maintenance switch are used on the dashboard
device.

On the way, wrong inputs show the messages the README's "What each error means" table explains
(read from translations/en.json): an https:// address of the (http) demo says which address to
use, a personal access token the dashboard does not know is named as such, and a 2.x token typed
into the 0.x form is refused before it is sent.

Each step is a check; the last line says ``N passed, N failed``. Screenshots go to the artifacts
folder (always for the main pages, and of the page at a failure); ``--docs-images DIR`` also writes
the README's screenshots there (``scripts/e2e --screenshots`` passes docs/images).

It needs Playwright's Python package and Debian's Chromium (/usr/bin/chromium); Playwright's own
browser download is never used. Kept out of tests/ (and valid for Python 3.11 to 3.14): it runs on
the host's Python, not in the Python 3.14 environment of the unit tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
import json
from pathlib import Path
import re
import sys
import time
import traceback
from urllib.request import Request, urlopen

from playwright.sync_api import (
    Error as PlaywrightError,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
DEMO_SERVERS = ("web-1", "web-2", "gpu-lab", "nas", "fresh-vps")
STEP_TIMEOUT_MS = 30_000
PERCENT = re.compile(r"\d+(\.\d+)?\s*%")
FINISH = re.compile(r"^(Skip and finish|Finish)$")
SCAN_INTERVAL = "Server update interval"
SCAN_INTERVAL_ERROR = "Enter a whole number of seconds from 10 to 3600."
"""The options' scan_interval_out_of_range error (translations/en.json)."""
SAVED_INTERVAL = "45"
ACTIONS_OPTION = "Actions"
"""The options' ``actions`` switch (translations/en.json)."""
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
DEVICE_PAGE_VIEWPORT: ViewportSize = {"width": 1280, "height": 1300}
EN = json.loads(
    (Path(__file__).parents[1] / "custom_components/nezha/translations/en.json").read_text("utf-8")
)
"""The English texts the frontend shows."""
PAT_OPTION = EN["config"]["step"]["auth_method"]["menu_options"]["token"]
FIELD = {
    "v0": EN["config"]["step"]["api_token"]["data"]["api_token"],
    "v2": EN["config"]["step"]["token"]["data"]["api_token"],
}
"""The token field's label: "API token" (0.x), "Personal access token" (2.x)."""
UNKNOWN_PAT = "nzp_" + "Unknown0" * 4
"""Shaped like a 2.x token, unknown to the demo."""
DOCS_IMAGES = {"devices": "devices.png", "device": "device.png", "card": "dashboard-card.png"}
"""The README's screenshots, by what they show."""
DEVICES_SHOT_HEIGHT = 560
"""The devices page is cut below its six rows (the rest of the page is empty)."""
REMOVE_ENTRIES_JS = """async () => {
  const hass = document.querySelector("home-assistant").hass;
  const entries = await hass.callWS({type: "config_entries/get", domain: "nezha"});
  for (const entry of entries) {
    await hass.callApi("DELETE", `config/config_entries/entry/${entry.entry_id}`);
  }
  return entries.length;
}"""
"""Deletes the Nezha entries the way the frontend's Delete does (its REST call)."""


class BrowserTest:
    """The steps, sharing one page."""

    def __init__(self, page: Page, args: argparse.Namespace) -> None:
        """Keep the page and the command-line options."""
        self.page = page
        self.url = args.url.rstrip("/")
        self.args = args
        self.artifacts = Path(args.artifacts)

    def shot(self, name: str) -> None:
        """Save a screenshot of the page."""
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), animations="disabled")

    def visit(self, path: str) -> None:
        """Open ``path`` of Home Assistant and wait for the frontend.

        The frontend takes a navigation over at once (so not waiting for "load"), and Chromium
        now and then reports the navigation as aborted (``net::ERR_ABORTED``) although the page
        goes on: it is then asked once more (a CI run failed on it once).
        """
        url = f"{self.url}{path}"
        for _ in range(2):
            try:
                self.page.goto(url, wait_until="commit")
                break
            except PlaywrightError as err:
                if "ERR_ABORTED" not in str(err):
                    raise
        else:
            self.page.wait_for_url(url)  # aborted twice: the frontend's own navigation lands
        self.wait_app()

    def wait_app(self) -> None:
        """Wait until the frontend has rendered (the launch screen is gone)."""
        expect(self.page.locator("ha-sidebar")).to_be_visible()
        self.page.locator("#ha-launch-screen").wait_for(state="detached")

    def log_in(self) -> None:
        """Log in as the demo user."""
        self.page.goto(self.url)
        self.page.locator('input[name="username"]').fill(self.args.user)
        self.page.locator('input[name="password"]').fill(self.args.password)
        self.page.get_by_role("button", name="Log in").click()
        self.wait_app()

    def add_integration(self, generation: str) -> None:
        """Settings → Devices & services → Add integration → Nezha Monitoring, as a user does.

        The URL first; for 2.x the sign-in menu (personal access token), then the token form:
        "Personal access token" (2.x) or "API token" (0.x). Wrong inputs on the way (see
        ``refused``) show their messages first.
        """
        page = self.page
        page.goto(f"{self.url}/config/integrations/dashboard")
        self.wait_app()
        page.get_by_role("button", name="Add integration").click()
        page.get_by_placeholder("Search for a brand name").fill("Nezha")
        page.locator("dialog-add-integration").get_by_text("Nezha Monitoring", exact=True).click()
        url_box = page.get_by_role("textbox", name="URL")
        expect(url_box).to_be_visible()
        # The form's description renders late: wait for it before the screenshot.
        expect(page.get_by_text("0.x, 1.x or 2.x", exact=False).first).to_be_visible()
        sim_url = self.args.sim_url.rstrip("/")
        if generation == "v2":
            # The demo speaks http: an https:// address gets the address to use.
            url_box.fill(sim_url.replace("http://", "https://", 1))
            page.get_by_role("button", name="Submit").click()
            speaks_http = EN["config"]["error"]["speaks_http"].format(suggested_url=sim_url)
            expect(page.get_by_text(speaks_http)).to_be_visible()
            self.shot(f"{generation}-1-config-flow-url-speaks-http")
        url_box.fill(sim_url)
        self.shot(f"{generation}-1-config-flow-url")
        page.get_by_role("button", name="Submit").click()
        # A password box: Chromium still gives it the textbox role (get_by_label finds nothing).
        token_box = page.get_by_role("textbox", name=FIELD[generation])
        if generation == "v2":
            expect(page.get_by_text("Nezha 2.x found at", exact=False)).to_be_visible()
            self.shot(f"{generation}-2-config-flow-auth-method")
            page.get_by_text(PAT_OPTION, exact=True).click()
            secret = self.args.pat
            expect(page.get_by_text("nezha:inventory:read", exact=False).first).to_be_visible()
            # A token the dashboard does not know: named as a personal access token.
            self.refused(token_box, UNKNOWN_PAT, "access_token_refused", f"{generation}-3-refused")
        else:
            secret = self.args.token
            expect(page.get_by_text("Nezha 0.x found at", exact=False)).to_be_visible()
            # A 2.x token in the 0.x form: refused before anything is sent.
            self.refused(token_box, self.args.pat, "api_token_format", f"{generation}-3-format")
        expect(token_box).to_be_visible()
        token_box.fill(secret)
        self.shot(f"{generation}-3-config-flow-token")
        page.get_by_role("button", name="Submit").click()
        title = self.args.sim_url.split("://", 1)[1].rstrip("/")
        # With one device the frontend says "Created configuration for <title>."; with more (the
        # dashboard and its servers here) it lists them under "Name and assign" instead.
        created = page.get_by_text(f"Created configuration for {title}.")
        assign = page.get_by_text("Name and assign", exact=True)
        expect(created.or_(assign)).to_be_visible()
        if assign.is_visible():
            names = page.get_by_role("textbox", name="Device name")
            expect(names).to_have_count(1 + len(DEMO_SERVERS))
            values = set(names.evaluate_all("boxes => boxes.map((box) => box.value)"))
            assert values == {title, *DEMO_SERVERS}, f"devices in the dialog: {sorted(values)}"
        self.shot(f"{generation}-4-config-flow-created")
        page.get_by_role("button", name=FINISH).click()
        expect(page.get_by_role("button", name=FINISH)).to_have_count(0)

    def refused(self, box: Locator, typed: str, error: str, shot: str) -> None:
        """Submit ``typed``: the form shows ``error``'s message and keeps what was typed."""
        page = self.page
        expect(box).to_be_visible()
        box.fill(typed)
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(EN["config"]["error"][error])).to_be_visible()
        expect(box).to_have_value(typed)
        self.shot(shot)

    def docs_image(
        self, what: str, locator: Locator | None = None, height: int | None = None
    ) -> None:
        """Save one of the README's screenshots, if asked to.

        Of one element, or of the page (only its top ``height`` pixels, if given).
        """
        if self.args.docs_images is None:
            return
        path = Path(self.args.docs_images) / DOCS_IMAGES[what]
        path.parent.mkdir(parents=True, exist_ok=True)
        if locator is not None:
            locator.screenshot(path=str(path), animations="disabled")
            return
        clip = (
            None
            if height is None
            else {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
        )
        self.page.screenshot(path=str(path), animations="disabled", clip=clip)

    def devices_listed(self, generation: str) -> None:
        """The demo servers are devices of the integration."""
        page = self.page
        page.goto(f"{self.url}/config/devices/dashboard?domain=nezha")
        self.wait_app()
        for server in DEMO_SERVERS:
            expect(page.get_by_text(server, exact=True).first).to_be_visible()
        self.shot(f"{generation}-5-devices")
        if generation == "v2":
            self.docs_image("devices", height=DEVICES_SHOT_HEIGHT)

    def device_page(self) -> None:
        """A server's device page lists its sensors with values (CPU usage as a percentage)."""
        page = self.page
        page.get_by_text("web-1", exact=True).first.click()
        expect(page).to_have_url(re.compile(r"/config/devices/device/"))
        self.wait_app()
        sensors = page.locator("ha-card").filter(has_text="CPU usage").first
        expect(sensors).to_contain_text(PERCENT)
        # Tall enough for the whole Sensors card (the page scrolls inside its own container).
        page.set_viewport_size(DEVICE_PAGE_VIEWPORT)
        try:
            expect(sensors).to_contain_text("Upload speed")
            self.shot("v2-6-device")
            self.docs_image("device")
        finally:
            page.set_viewport_size(VIEWPORT)

    def cpu_on_dashboard(self, generation: str) -> None:
        """The demo dashboard's entities card shows a server's CPU usage as a percentage."""
        page = self.page
        page.goto(f"{self.url}/nezha-demo/servers")
        self.wait_app()
        card = page.locator("hui-entities-card").filter(has_text="CPU usage")
        for server in ("web-1", "gpu-lab"):
            row = card.locator("hui-sensor-entity-row").filter(has_text=server)
            expect(row).to_contain_text(PERCENT)
        self.shot(f"{generation}-7-dashboard")
        if generation == "v2":
            metrics = page.locator("hui-entities-card").filter(has_text="GPU usage")
            expect(metrics.locator("hui-sensor-entity-row").first).to_contain_text(PERCENT)
            self.docs_image("card", metrics)

    def switch_to_v0(self) -> None:
        """Delete the 2.x entry (as its Delete does) and make the demo answer as 0.x."""
        page = self.page
        self.visit("/config/integrations/integration/nezha")
        assert page.evaluate(REMOVE_ENTRIES_JS) == 1, "the 2.x entry was not there to delete"
        request = Request(f"{self.args.sim_url.rstrip('/')}/demo/generation/v0", method="POST")
        with urlopen(request, timeout=10) as response:
            answer = response.read().decode()
        assert answer == "the demo answers as v0 now\n", answer

    def open_options(self) -> None:
        """Open the entry's options dialog from the integration's page."""
        page = self.page
        self.visit("/config/integrations/integration/nezha")
        page.get_by_role("button", name="Configure").first.click()
        expect(page.get_by_role("spinbutton", name=SCAN_INTERVAL)).to_be_visible()

    def options(self) -> None:
        """Options: 5 s is refused with the translated error; 45 s saves and is kept."""
        page = self.page
        self.open_options()
        box = page.get_by_role("spinbutton", name=SCAN_INTERVAL)
        box.fill("5")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(SCAN_INTERVAL_ERROR)).to_be_visible()
        expect(page.get_by_text("is too small")).to_have_count(0)
        self.shot("v2-8-options-error")
        box.fill(SAVED_INTERVAL)
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Options successfully saved.")).to_be_visible()
        expect(page.get_by_text(SCAN_INTERVAL_ERROR)).to_have_count(0)
        self.shot("v2-9-options-saved")
        page.get_by_role("button", name="Finish").click()
        self.open_options()
        expect(page.get_by_role("spinbutton", name=SCAN_INTERVAL)).to_have_value(SAVED_INTERVAL)
        self.shot("v2-10-options-kept")

    def actions(self) -> None:
        """Actions on in the options; on the dashboard device a task button is pressed (its
        last-run sensor then shows a time) and the alert rule's maintenance switch flipped off
        and on, each time showing what the dashboard holds after the write."""
        page = self.page
        self.open_options()
        page.locator(f'ha-switch[aria-label="{ACTIONS_OPTION}"]').click()
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Options successfully saved.")).to_be_visible()
        page.get_by_role("button", name="Finish").click()
        expect(page.get_by_text("Options successfully saved.")).to_have_count(0)
        self.visit("/config/devices/dashboard?domain=nezha")
        title = self.args.sim_url.split("://", 1)[1].rstrip("/")
        page.get_by_text(title, exact=True).first.click()
        expect(page).to_have_url(re.compile(r"/config/devices/device/"))
        self.wait_app()
        last_run = page.locator("hui-sensor-entity-row").filter(has_text="Restart nginx last run")
        expect(last_run).to_contain_text("Unknown")
        button = page.locator("hui-button-entity-row").filter(has_text="Run Restart nginx")
        button.get_by_role("button", name="Press").click()
        expect(last_run).not_to_contain_text("Unknown")
        rule = page.locator("hui-toggle-entity-row").filter(has_text="Monthly 10 TiB alert rule")
        toggle = rule.get_by_role("switch")  # the switch's hidden input: its checked state
        expect(toggle).to_be_checked()
        rule.locator("ha-switch").click()
        expect(toggle).not_to_be_checked()
        self.shot("v2-11-actions")
        rule.locator("ha-switch").click()
        expect(toggle).to_be_checked()


def run(args: argparse.Namespace) -> int:
    """Run the steps in order; after a failure the rest are not run. Returns the exit code."""
    artifacts = Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    passed, failed = 0, 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport=VIEWPORT, reduced_motion="reduce", locale="en-US")
        context.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        test = BrowserTest(context.new_page(), args)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("log in", test.log_in),
            (
                "2.x: add the integration through the UI with a PAT",
                partial(test.add_integration, "v2"),
            ),
            ("2.x: demo servers are devices", partial(test.devices_listed, "v2")),
            ("2.x: a server's device page", test.device_page),
            ("2.x: CPU usage on the dashboard", partial(test.cpu_on_dashboard, "v2")),
            ("2.x: options: a translated error, then saved", test.options),
            ("2.x: actions: a task button and a maintenance switch", test.actions),
            ("0.x: the 2.x entry deleted, the demo answers as 0.x", test.switch_to_v0),
            (
                "0.x: add the integration through the UI with a token",
                partial(test.add_integration, "v0"),
            ),
            ("0.x: demo servers are devices", partial(test.devices_listed, "v0")),
            ("0.x: CPU usage on the dashboard", partial(test.cpu_on_dashboard, "v0")),
        ]
        for number, (name, step) in enumerate(steps, 1):
            started = time.monotonic()
            try:
                step()
            except Exception:
                failed += 1
                print(f"FAIL {name} ({time.monotonic() - started:.1f} s)", flush=True)
                traceback.print_exc(limit=3)
                shot = artifacts / f"failed-{number}.png"
                try:
                    test.page.screenshot(path=str(shot))
                    print(f"     screenshot: {shot} (page {test.page.url})", flush=True)
                except Exception as err:
                    print(f"     no screenshot: {err}", flush=True)
                for skipped, _ in steps[number:]:
                    print(f"NOT RUN {skipped}", flush=True)
                break
            passed += 1
            print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)
        browser.close()
    not_run = len(steps) - passed - failed
    tail = f", {not_run} not run" if not_run else ""
    print(f"{passed} passed, {failed} failed{tail}", flush=True)
    return 0 if failed == 0 else 1


def main() -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description="Real-browser test of the Nezha integration.")
    parser.add_argument("--url", default="http://127.0.0.1:8123", help="Home Assistant")
    parser.add_argument("--sim-url", default="http://127.0.0.1:8008", help="the simulator")
    parser.add_argument("--token", required=True, help="the simulator's 0.x API token")
    parser.add_argument("--pat", required=True, help="the simulator's 2.x personal access token")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo-password-1")
    parser.add_argument("--artifacts", default="artifacts/e2e", help="screenshots go here")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium to drive")
    parser.add_argument("--docs-images", help="also write the README's screenshots here")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
