#!/usr/bin/env python3
"""Two pipelined HTTP/1.1 requests in one write, timed to the end of the second answer: the case
where Nagle's algorithm (a server without TCP_NODELAY) holds the second small answer until the
client's delayed ACK of the first (~40 ms on Linux). Used by benches/tail.sh --nagle; stdlib only.

usage: pipelined.py PORT MODEL BODY.json [TRIALS]   (prints the median and max in ms)
"""
import socket
import statistics
import sys
import time


def main():
    port, model, body_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    trials = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    body = open(body_path, "rb").read()
    req = (f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: x\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    times = []
    for _ in range(trials):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(req)
            got = b""
            while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
                got += s.recv(65536)
            t0 = time.perf_counter()
            s.sendall(req + req)
            got = b""
            while got.count(b"HTTP/1.1 ") < 2 or not got.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            times.append((time.perf_counter() - t0) * 1000)
    print(f"{statistics.median(times):.2f} {max(times):.2f}")


if __name__ == "__main__":
    main()
