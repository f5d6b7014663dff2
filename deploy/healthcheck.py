#!/usr/bin/env python3
"""Health checks baked into the bunker image (python:slim has no curl; this is stdlib only).

    bunker-healthcheck gateway [ready|live]   GET http://127.0.0.1:$BUNKER_GATEWAY_PORT/healthz (ready, the
                                              default: Temporal and PostgreSQL answer) or /livez (the process answers)
    bunker-healthcheck worker [ready|live]    GET http://127.0.0.1:$BUNKER_WORKER_HEALTH_PORT/readyz (the worker
                                              polls, Temporal and PostgreSQL answer) or /livez (its event loop answers)

Healthy on HTTP 200. Exit status 0 = healthy, 1 = unhealthy: Docker's HEALTHCHECK and Kubernetes exec probes
read only that (Kubernetes probes the HTTP endpoints directly, see deploy/k8s/).

A worker without a health endpoint (BUNKER_WORKER_HEALTH_PORT unset or 0) is checked as a process only: PID 1
is a live `bunker worker` (not a zombie, not stopped). That cannot see a hung event loop.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

PATHS = {("gateway", "ready"): "/healthz", ("gateway", "live"): "/livez",
         ("worker", "ready"): "/readyz", ("worker", "live"): "/livez"}


def http_check(url: str) -> int:
    timeout = float(os.environ.get("BUNKER_HEALTHCHECK_TIMEOUT", "4"))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed local URL
            status = response.status
    except urllib.error.HTTPError as e:  # 503: Temporal or PostgreSQL is down, or the worker is not polling
        print(f"unhealthy: {url} answered {e.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as e:  # refused, or no answer in time (hung)
        print(f"unhealthy: {url}: {e}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


def gateway(mode: str) -> int:
    port = os.environ.get("BUNKER_GATEWAY_PORT", "8000")
    url = os.environ.get("BUNKER_HEALTHCHECK_URL") or f"http://127.0.0.1:{port}{PATHS['gateway', mode]}"
    return http_check(url)


def worker(mode: str) -> int:
    port = os.environ.get("BUNKER_WORKER_HEALTH_PORT", "0").strip() or "0"
    if port != "0":
        return http_check(os.environ.get("BUNKER_HEALTHCHECK_URL") or f"http://127.0.0.1:{port}{PATHS['worker', mode]}")
    return worker_process()


def worker_process() -> int:
    pid = os.environ.get("BUNKER_HEALTHCHECK_PID", "1")
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            state = next((line.split()[1] for line in f if line.startswith("State:")), "?")
    except OSError as e:
        print(f"unhealthy: no process {pid}: {e}", file=sys.stderr)
        return 1
    if "worker" not in argv:
        print(f"unhealthy: process {pid} is not `bunker worker`: {' '.join(argv)}", file=sys.stderr)
        return 1
    if state in {"Z", "T", "t", "X"}:
        print(f"unhealthy: process {pid} is in state {state}", file=sys.stderr)
        return 1
    return 0


CHECKS = {"gateway": gateway, "worker": worker}
MODES = ("ready", "live")


def main(argv: list[str]) -> int:
    if not 2 <= len(argv) <= 3 or argv[1] not in CHECKS or (len(argv) == 3 and argv[2] not in MODES):
        print(f"usage: {os.path.basename(argv[0])} {{{'|'.join(CHECKS)}}} [{'|'.join(MODES)}]", file=sys.stderr)
        return 1  # not 2: Docker reserves exit status 2 of a health check
    return CHECKS[argv[1]](argv[2] if len(argv) == 3 else "ready")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
