#!/usr/bin/env python3
"""Run a command under a resident-memory cap, so that on a shared machine only it can die, never the machine.

  /usr/bin/python3 scripts/run-mem-capped.py --cap-gb 12 [--json OUT] -- COMMAND ...

The command runs in its own process group; every 0.25 s the resident memory of the group (the sum of VmRSS over
its processes) is read from /proc, and the whole group is killed (SIGKILL) once it passes the cap. Also sets an
address-space limit (RLIMIT_AS, default cap + 4 GB) on the command, so a single huge allocation fails inside it with
a MemoryError instead of growing past the watchdog between two samples. Prints (and writes to --json) the exit,
whether the cap killed it (SIGABRT first, so Python children print their tracebacks, then SIGKILL), the peak of the group's RSS, each process's own high-water mark (VmHWM), and the
last lines of its output. Used for the 3B attempt (README, "Paper-size models"); containers here have no systemd.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import time


def group_pids(pgid: int) -> list:
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.getpgid(int(d)) == pgid:
                pids.append(int(d))
        except (ProcessLookupError, PermissionError):
            pass
    return pids


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cap-gb", type=float, required=True)
    ap.add_argument("--as-gb", type=float, help="address-space limit (RLIMIT_AS) in GB; default cap + 4. Close to the cap, an allocation past it fails inside the command with a traceback that says where")
    ap.add_argument("--json")
    ap.add_argument("--log", help="the command's output (stdout and stderr) goes here; default: a file beside --json or /tmp")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    cap_kb = int(a.cap_gb * 1024 * 1024)
    as_gb = a.as_gb if a.as_gb else a.cap_gb + 4
    as_bytes = int(as_gb * 2 ** 30)
    log = a.log or ((a.json or "/tmp/mem-capped") + ".log")

    def limit():
        os.setpgrp()
        resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))

    t0 = time.time()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        pgid = proc.pid
        peak_kb, hwm, killed, trace = 0, {}, False, []
        while proc.poll() is None:
            pids = group_pids(pgid)
            rss = sum(status_kb(p, "VmRSS") for p in pids)
            for p in pids:
                hwm[p] = max(hwm.get(p, 0), status_kb(p, "VmHWM"))
            if rss > peak_kb:
                peak_kb = rss
            if int(time.time() - t0) % 10 == 0 and (not trace or trace[-1][0] != int(time.time() - t0)):
                trace.append((int(time.time() - t0), round(rss / 2 ** 20, 2)))
            if rss > cap_kb:
                killed = True
                # Python children run with PYTHONFAULTHANDLER=1: SIGABRT makes each print where it is (its
                # traceback) before the group is killed, which says at what step the cap was reached.
                os.killpg(pgid, signal.SIGABRT)
                time.sleep(1.0)
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.25)
        code = proc.wait()
    with open(log, errors="replace") as fh:
        tail = fh.read()[-3000:]
    report = {"command": cmd, "cap_gb": a.cap_gb, "address_space_limit_gb": as_gb, "exit": code, "killed_at_cap": killed,
              "seconds": round(time.time() - t0, 1), "peak_group_rss_gb": round(peak_kb / 2 ** 20, 2),
              "per_process_hwm_gb": {str(p): round(k / 2 ** 20, 2) for p, k in hwm.items() if k},
              "rss_every_10s_gb": trace, "log": log, "tail": tail}
    print(json.dumps({k: v for k, v in report.items() if k != "tail"}, indent=2))
    print(tail[-1500:])
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0 if code == 0 and not killed else 1


if __name__ == "__main__":
    sys.exit(main())
