#!/usr/bin/env python3
"""Health checks baked into the bunker image (python:slim has no curl; this is stdlib only).

    bunker-healthcheck gateway   GET http://127.0.0.1:$BUNKER_GATEWAY_PORT/healthz; healthy on HTTP 200
    bunker-healthcheck worker    PID 1 is a live `bunker worker` process (not a zombie, not stopped)

Exit status 0 = healthy, 1 = unhealthy: Docker's HEALTHCHECK and Kubernetes exec probes read only that.

The worker check is only a process check: the worker has no health endpoint yet, so a worker whose event
loop hangs while the process lives is not detected (see docs/operations.md).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def gateway() -> int:
    port = os.environ.get("BUNKER_GATEWAY_PORT", "8000")
    url = os.environ.get("BUNKER_HEALTHCHECK_URL") or f"http://127.0.0.1:{port}/healthz"
    timeout = float(os.environ.get("BUNKER_HEALTHCHECK_TIMEOUT", "4"))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed local URL
            status = response.status
    except urllib.error.HTTPError as e:  # 503: Temporal or PostgreSQL is down
        print(f"unhealthy: {url} answered {e.code}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"unhealthy: {url}: {e}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


def worker() -> int:
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


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in CHECKS:
        print(f"usage: {os.path.basename(argv[0])} {{{'|'.join(CHECKS)}}}", file=sys.stderr)
        return 1  # not 2: Docker reserves exit status 2 of a health check
    return CHECKS[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
