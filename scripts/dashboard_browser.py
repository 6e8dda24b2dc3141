#!/usr/bin/env python3
"""Drives the Vigil dashboard in real headless Chromium (selenium + chromedriver).

Two jobs, each against a server someone else started:

  check        The acceptance walk-through of the dashboard, step by step: sign in, the host listed
               with live figures, the host page's charts moving, a message sent from the chat pane
               (the caller checks the agent received it), the killed agent turning DOWN on screen
               within 3 s without a reload, and a viewer without the send control. Screenshots of
               every page go to --screenshots. Prints one JSON object per step on stdout; exits 1
               with the failed step's reason on stderr.
  render       Time to first render of the fleet view: loads the page --runs times and reports, as
               JSON, milliseconds from navigation start until the fleet table holds --hosts rows
               (the page sets body[data-fleet-rendered] when its first full render is done).

The DOM contract (ids and data attributes) is listed in docs/OPERATIONS.md, "Dashboard".
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


class StepFailed(Exception):
    pass


def log(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def browser(width, height):
    options = Options()
    options.add_argument("--headless=new")
    options.add_argument("--no-sandbox")  # CI runs as root
    options.add_argument("--disable-dev-shm-usage")
    options.add_argument("--disable-gpu")
    options.add_argument(f"--window-size={width},{height}")
    # An HTTPS dashboard with the server's own CA: trust that CA's key (base64 SHA-256 of its
    # SubjectPublicKeyInfo) and nothing else. Chromium honours the list only with its own profile.
    spki = os.environ.get("VIGIL_TRUSTED_SPKI")
    if spki:
        options.add_argument(f"--ignore-certificate-errors-spki-list={spki}")
        options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='vigil-chromium-')}")
    binary = os.environ.get("CHROMIUM") or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome") if os.path.exists(p)), None)
    if binary:
        options.binary_location = binary
    driver_path = os.environ.get("CHROMEDRIVER") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    service = Service(executable_path=driver_path) if driver_path else Service()
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    return driver


def wait_for(driver, what, timeout, condition):
    """Polls `condition(driver)` until it returns something truthy; fails the step with `what`."""
    try:
        # A live table may replace a row between finding it and reading it: look again.
        return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
            lambda d: condition(d))
    except TimeoutException:
        raise StepFailed(f"timed out after {timeout} s waiting for {what}")


def shot(driver, directory, name):
    path = os.path.join(directory, f"{name}.png")
    driver.save_screenshot(path)
    return path


def sign_in(driver, base, user, password):
    driver.get(base + "/#/login")
    wait_for(driver, "the sign-in form", 15, lambda d: d.find_element(By.ID, "login-form").is_displayed())
    field = driver.find_element(By.ID, "login-username")
    field.clear()
    field.send_keys(user)
    field = driver.find_element(By.ID, "login-password")
    field.clear()
    field.send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(driver, f"{user} to be signed in (#whoami)", 15,
             lambda d: user in d.find_element(By.ID, "whoami").text)


def sign_out(driver):
    driver.find_element(By.ID, "signout").click()
    wait_for(driver, "the sign-in form after signing out", 10,
             lambda d: d.find_element(By.ID, "login-form").is_displayed())


def go(driver, route):
    # A hash change, not a page load: the page keeps its state and its stream.
    driver.execute_script("window.location.hash = arguments[0]", route)


def attribute_number(driver, selector, name):
    value = driver.find_element(By.CSS_SELECTOR, selector).get_attribute(name)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check(args):
    os.makedirs(args.screenshots, exist_ok=True)
    base = args.url.rstrip("/")
    host = args.host
    row = f'tr[data-host="{host}"]'
    driver = browser(1280, 720)
    try:
        # 1. Sign in as admin.
        driver.get(base + "/")
        wait_for(driver, "the sign-in form at /", 15, lambda d: d.find_element(By.ID, "login-form").is_displayed())
        log("login-page", screenshot=shot(driver, args.screenshots, "01-login"))
        sign_in(driver, base, args.admin, args.admin_password)
        # A marker that survives hash changes but not a reload: proves nothing below reloads the page.
        driver.execute_script("window.__vigilNoReload = 'kept'")

        # 2. The fleet lists the host, UP, with live figures.
        go(driver, "#/fleet")
        wait_for(driver, f"{host} listed as up with a CPU figure", 20, lambda d: (
            d.find_element(By.CSS_SELECTOR, row).get_attribute("data-state") == "up"
            and d.find_element(By.CSS_SELECTOR, f'{row} td[data-field="cpu"]').text.strip() not in ("", "—", "-")))
        state_word = driver.find_element(By.CSS_SELECTOR, f'{row} td[data-field="state"]').text.strip()
        if state_word.upper() != "UP":
            raise StepFailed(f"the state cell says {state_word!r}, expected the word UP beside the colour")
        first_cpu = driver.find_element(By.CSS_SELECTOR, f'{row} td[data-field="cpu"]').text
        seen = f'{row} td[data-field="last_seen"]'
        def last_seen(d):  # the cell's machine-readable value if it has one, else its text
            cell = d.find_element(By.CSS_SELECTOR, seen)
            return cell.get_attribute("data-value") or cell.text.strip()
        first_seen = last_seen(driver)
        wait_for(driver, "the host's last-seen figure to change on its own (live updates)", 15,
                 lambda d: last_seen(d) not in ("", first_seen))
        up = driver.find_element(By.ID, "count-up").text
        log("fleet", host=host, state=state_word, cpu=first_cpu, count_up=up, screenshot=shot(driver, args.screenshots, "02-fleet"))

        # 3. The host page: charts draw and move.
        go(driver, f"#/hosts/{host}")
        wait_for(driver, "the host view", 10, lambda d: d.find_element(By.ID, "host-view").get_attribute("data-host") == host)
        charts = ["chart-cpu", "chart-cpu-cores", "chart-memory", "chart-disk-io", "chart-network"]
        for chart in charts:
            wait_for(driver, f"#{chart} to draw points", 20, lambda d, c=chart: (attribute_number(d, f"#{c}", "data-points") or 0) >= 1)
        before = {c: attribute_number(driver, f"#{c}", "data-last-time") for c in charts}
        wait_for(driver, "the CPU and memory charts to move (a newer point)", 15, lambda d: all(
            (attribute_number(d, f"#{c}", "data-last-time") or 0) > (before[c] or 0) for c in ("chart-cpu", "chart-memory")))
        for table in ("filesystems-table", "interfaces-table", "processes-table", "system-info", "host-events"):
            driver.find_element(By.ID, table)  # present (NoSuchElement fails the step)
        log("host", charts={c: attribute_number(driver, f"#{c}", "data-points") for c in charts},
            screenshot=shot(driver, args.screenshots, "03-host"))
        driver.find_element(By.CSS_SELECTOR, '#range-picker button[data-range="24h"]').click()
        wait_for(driver, "the 24 h range to be selected", 10, lambda d: d.find_element(
            By.CSS_SELECTOR, '#range-picker button[data-range="24h"]').get_attribute("aria-pressed") == "true")
        log("host-history", screenshot=shot(driver, args.screenshots, "04-host-24h"))

        # 4. The chat pane sends to the host.
        go(driver, "#/messages")
        wait_for(driver, "the chat pane", 10, lambda d: d.find_element(By.ID, "chat-send").is_displayed())
        wait_for(driver, f"{host} among the chat recipients", 10, lambda d: any(
            o.get_attribute("value") == host for o in d.find_element(By.ID, "chat-recipient").find_elements(By.TAG_NAME, "option")))
        Select(driver.find_element(By.ID, "chat-recipient")).select_by_value(host)
        driver.find_element(By.ID, "chat-input").send_keys(args.message)
        driver.find_element(By.ID, "chat-send").click()
        wait_for(driver, "the sent message in the chat log", 10, lambda d: args.message in d.find_element(By.ID, "chat-log").text)
        log("chat-sent", message=args.message, screenshot=shot(driver, args.screenshots, "05-messages"))
        if args.agent_log:
            wait_for(driver, "the agent to log the message", 15, lambda d: args.message in open(args.agent_log, errors="replace").read())
            log("chat-received", agent_log=args.agent_log)

        go(driver, "#/files")
        wait_for(driver, "the files table", 10, lambda d: d.find_element(By.ID, "files-table"))
        log("files", screenshot=shot(driver, args.screenshots, "06-files"))

        # 5. Kill the agent: DOWN on screen within 3 s, without a reload.
        go(driver, "#/fleet")
        wait_for(driver, f"{host} up again on the fleet page", 10, lambda d: d.find_element(By.CSS_SELECTOR, row).get_attribute("data-state") == "up")
        killed_at = time.monotonic()
        os.kill(args.agent_pid, signal.SIGKILL)
        wait_for(driver, f"{host} to turn DOWN on screen within 3 s of the kill", 3, lambda d:
                 d.find_element(By.CSS_SELECTOR, row).get_attribute("data-state") == "down"
                 and d.find_element(By.CSS_SELECTOR, f'{row} td[data-field="state"]').text.strip().upper() == "DOWN")
        seconds = time.monotonic() - killed_at
        if driver.execute_script("return window.__vigilNoReload") != "kept":
            raise StepFailed("the page was reloaded (the marker set after sign-in is gone)")
        down = driver.find_element(By.ID, "count-down").text
        log("down", host=host, seconds=round(seconds, 3), count_down=down, screenshot=shot(driver, args.screenshots, "07-fleet-down"))
        go(driver, "#/alerts")
        wait_for(driver, f"{host} among the current DOWN alerts", 10, lambda d: host in d.find_element(By.ID, "alerts-down").text)
        # The shipped host_down rule fired: its row is live on the page; the admin acknowledges it.
        alert_row = f'#alerts-active tr[data-rule="host_down"][data-host="{host}"]'
        wait_for(driver, f"the firing host_down alert of {host}", 10, lambda d: d.find_element(By.CSS_SELECTOR, alert_row).get_attribute("data-status") == "firing")
        def click_ack(d):
            if d.find_element(By.CSS_SELECTOR, alert_row).get_attribute("data-acknowledged"):
                return True  # an earlier click went through before the row was redrawn
            d.find_element(By.CSS_SELECTOR, f"{alert_row} button.ack").click()
            return True
        wait_for(driver, "the Acknowledge button to take the click", 10, click_ack)
        wait_for(driver, "the alert to show as acknowledged", 10, lambda d: d.find_element(By.CSS_SELECTOR, alert_row).get_attribute("data-acknowledged") == args.admin)
        for element in ("alerts-silences", "alerts-deliveries"):
            driver.find_element(By.ID, element)
        wait_for(driver, "the rules table (admin)", 10, lambda d: d.find_elements(By.CSS_SELECTOR, '#alerts-rules tr[data-rule="host_down"]'))
        log("alerts", screenshot=shot(driver, args.screenshots, "08-alerts"))

        # 6. Phone width.
        # Device-metrics emulation: a headless window may not shrink below ~500 px by set_window_size.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True})
        go(driver, "#/fleet")
        wait_for(driver, "the fleet table at phone width", 10, lambda d: d.find_element(By.CSS_SELECTOR, row))
        width = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        if width[1] > width[0] + 1:
            raise StepFailed(f"at phone width the page scrolls sideways: content {width[1]} px in a {width[0]} px viewport")
        log("phone", viewport=width[0], scroll_width=width[1], screenshot=shot(driver, args.screenshots, "09-fleet-phone"))
        go(driver, f"#/hosts/{host}")
        wait_for(driver, "the host view at phone width", 10, lambda d: d.find_element(By.ID, "host-view").get_attribute("data-host") == host)
        log("phone-host", screenshot=shot(driver, args.screenshots, "10-host-phone"))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

        # 7. A viewer has no send control.
        sign_out(driver)
        sign_in(driver, base, args.viewer, args.viewer_password)
        go(driver, "#/messages")
        wait_for(driver, "the chat log for the viewer", 10, lambda d: d.find_element(By.ID, "chat-log"))
        if driver.find_elements(By.ID, "chat-send") or driver.find_elements(By.ID, "chat-input"):
            raise StepFailed("a viewer sees the send control (#chat-send or #chat-input is in the page)")
        log("viewer", screenshot=shot(driver, args.screenshots, "11-viewer-messages"))
        return 0
    except (StepFailed, WebDriverException) as error:
        try:
            path = shot(driver, args.screenshots, "failure")
        except WebDriverException:
            path = None
        print(f"dashboard check failed: {error}" + (f" (screenshot {path})" if path else ""), file=sys.stderr)
        for entry in driver.get_log("browser") if hasattr(driver, "get_log") else []:
            print(f"browser console: {entry.get('level')} {entry.get('message')}", file=sys.stderr)
        return 1
    finally:
        driver.quit()



RENDER_PROBE = """
window.__fleetRenderedAt = null;
new MutationObserver((changes, observer) => {
  if (document.body && document.body.dataset.fleetRendered !== undefined && window.__fleetRenderedAt === null) {
    window.__fleetRenderedAt = performance.now();
    window.__fleetRenderedCount = Number(document.body.dataset.fleetRendered);
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-fleet-rendered']});
"""


def render(args):
    base = args.url.rstrip("/")
    driver = browser(1280, 720)
    try:
        sign_in(driver, base, args.admin, args.admin_password)
        # Runs before the page's own scripts on every load: stamps the moment of the first full render.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RENDER_PROBE})
        times = []
        for run in range(args.runs + 1):  # the first load warms the HTTP cache; not counted
            # Through about:blank: after sign-in the tab is already at /#/fleet, and a get of the
            # same URL is a same-document (fragment) navigation that loads nothing.
            driver.get("about:blank")
            driver.get(base + "/#/fleet")
            rendered = wait_for(driver, f"the fleet view to render {args.hosts} hosts", 60, lambda d: d.execute_script(
                "return window.__fleetRenderedAt === null ? null : [window.__fleetRenderedAt, window.__fleetRenderedCount]"))
            at, count = rendered
            if count < args.hosts:
                raise StepFailed(f"the first render held {count} hosts, expected {args.hosts}")
            rows = driver.execute_script("return document.querySelectorAll('#fleet-table tr[data-host]').length")
            if run > 0:
                times.append(at)
            print(json.dumps({"run": run, "ms": round(at, 1), "hosts": count, "rows_in_dom": rows}), file=sys.stderr, flush=True)
        print(json.dumps({
            "hosts": args.hosts, "runs": len(times),
            "first_render_ms": {"median": round(statistics.median(times), 1), "min": round(min(times), 1), "max": round(max(times), 1)},
            "all_ms": [round(t, 1) for t in times],
        }), flush=True)
        return 0
    except (StepFailed, WebDriverException) as error:
        print(f"render benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        driver.quit()


def cluster(args):
    """The fleet page's Servers panel lists every member of a cluster and marks the leader."""
    base = args.url.rstrip("/")
    driver = browser(1280, 720)
    try:
        sign_in(driver, base, args.admin, args.admin_password)
        go(driver, "#/fleet")
        expected = sorted(args.members.split(","))
        rows = wait_for(driver, f"the Servers panel to list {expected} with a leader", 20, lambda d: (
            d.find_element(By.ID, "cluster-view").is_displayed()
            and (found := sorted(r.get_attribute("data-member") for r in d.find_elements(By.CSS_SELECTOR, "#cluster-members tr[data-member]"))) == expected
            and d.find_elements(By.CSS_SELECTOR, '#cluster-members tr[data-role="leader"]')
            and found))
        leader = driver.find_element(By.CSS_SELECTOR, '#cluster-members tr[data-role="leader"]').get_attribute("data-member")
        path = shot(driver, args.screenshots, "cluster") if args.screenshots else None
        log("cluster", members=rows, leader=leader, screenshot=path)
        return 0
    except (StepFailed, WebDriverException) as error:
        print(f"cluster panel check failed: {error}", file=sys.stderr)
        return 1
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="job", required=True)
    for name in ("check", "render", "cluster"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True, help="the server's HTTP address, e.g. http://127.0.0.1:5000")
        p.add_argument("--admin", default="admin")
        p.add_argument("--admin-password", default=os.environ.get("VIGIL_ADMIN_PASSWORD"))
    c = sub.choices["check"]
    c.add_argument("--host", required=True, help="the agent's host name")
    c.add_argument("--agent-pid", type=int, required=True, help="the agent process, killed by this script")
    c.add_argument("--agent-log", help="the agent's log file, where the chat message must appear")
    c.add_argument("--viewer", required=True)
    c.add_argument("--viewer-password", default=os.environ.get("VIGIL_VIEWER_PASSWORD"))
    c.add_argument("--message", default="hello from the dashboard")
    c.add_argument("--screenshots", required=True, help="a directory for the PNGs")
    r = sub.choices["render"]
    r.add_argument("--hosts", type=int, required=True)
    r.add_argument("--runs", type=int, default=5)
    k = sub.choices["cluster"]
    k.add_argument("--members", required=True, help="the member ids expected, comma-separated")
    k.add_argument("--screenshots", help="a directory for the PNG")
    args = parser.parse_args()
    sys.exit({"check": check, "render": render, "cluster": cluster}[args.job](args))


if __name__ == "__main__":
    main()
