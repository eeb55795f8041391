#!/usr/bin/env python3
"""Process helpers for benches/compare.sh (standard library only).

  v2proc.py launch --url URL --model M --log FILE [--timeout S] -- CMD [ARGS...]
      Starts CMD in its own session (process group), polls GET URL/v2/models/M/ready every
      2 ms until it answers 200, and prints {"pid": ..., "ready_ms": ...} (launch to first 200).
      The server keeps running; stop it with `stop`. Exits 1 if it never became ready.
  v2proc.py rss --pid PID [--watch SECONDS]
      Sums VmRSS over PID and all its descendants and prints {"rss_mib": ...}; with --watch,
      samples every 0.25 s for SECONDS and prints the peak.
  v2proc.py stop --pid PID
      SIGTERM to the process group, then SIGKILL after 10 s.
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mib(pid):
    return sum(rss_kib(p) for p in tree(pid)) / 1024.0


def ready(host, port, path):
    try:
        conn = http.client.HTTPConnection(host, port, timeout=1)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status == 200
    except OSError:
        return False


def launch(args):
    url = urllib.parse.urlsplit(args.url)
    path = f"/v2/models/{args.model}/ready"
    log = open(args.log, "ab")
    started = time.perf_counter()
    proc = subprocess.Popen(args.cmd, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = started + args.timeout
    while time.perf_counter() < deadline:
        if ready(url.hostname, url.port, path):
            ms = (time.perf_counter() - started) * 1e3
            print(json.dumps({"pid": proc.pid, "ready_ms": round(ms, 2)}))
            return 0
        if proc.poll() is not None:
            print(json.dumps({"pid": proc.pid, "error": f"exited with {proc.returncode}"}))
            return 1
        time.sleep(0.002)
    stop_group(proc.pid)
    print(json.dumps({"pid": proc.pid, "error": "not ready in time"}))
    return 1


def stop_group(pid):
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        # reap it if it is our child
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd_name", required=True)
    l = sub.add_parser("launch")
    l.add_argument("--url", required=True)
    l.add_argument("--model", required=True)
    l.add_argument("--log", required=True)
    l.add_argument("--timeout", type=float, default=120)
    l.add_argument("cmd", nargs=argparse.REMAINDER)
    r = sub.add_parser("rss")
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--watch", type=float, default=0)
    s = sub.add_parser("stop")
    s.add_argument("--pid", type=int, required=True)
    args = p.parse_args()
    if args.cmd_name == "launch":
        if args.cmd and args.cmd[0] == "--":
            args.cmd = args.cmd[1:]
        return launch(args)
    if args.cmd_name == "rss":
        peak = tree_rss_mib(args.pid)
        end = time.monotonic() + args.watch
        while time.monotonic() < end:
            time.sleep(0.25)
            peak = max(peak, tree_rss_mib(args.pid))
        print(json.dumps({"rss_mib": round(peak, 1)}))
        return 0
    stop_group(args.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
