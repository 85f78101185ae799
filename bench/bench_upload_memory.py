"""Memory under concurrent avatar uploads (issue 24 item 11). Prints one JSON object; not a test.

A real server (`avatar-driver serve`, its own process); ``--uploads`` connections at once each
POST a valid ``--mib`` MiB GLB to /v1/rigs. The server's RSS (its own process; the tool
worker apart) is sampled every 20 ms: before, peak, and ``--settle`` seconds after the last
answer; with the answers' status counts.

Usage: python bench/bench_upload_memory.py [--uploads 24] [--mib 60] [--settle 5]
       [--budget-mib N (AVATAR_DRIVER_MAX_BODY_BYTES_IN_FLIGHT)]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_soak import start_server
from tests.support.uploads import Upload, big_glb, rss_mib


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=24)
    parser.add_argument("--mib", type=int, default=60)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--budget-mib", type=int, default=0)
    args = parser.parse_args()
    settings = {"AVATAR_DRIVER_MAX_UPLOAD_BYTES": str((args.mib + 4) << 20)}
    if args.budget_mib:
        settings["AVATAR_DRIVER_MAX_BODY_BYTES_IN_FLIGHT"] = str(args.budget_mib << 20)
    server, port = start_server(settings, "bench-upload-")
    body = big_glb(args.mib << 20)
    try:
        before = rss_mib(server.pid)
        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss_mib(server.pid))
                time.sleep(0.02)

        statuses: collections.Counter[int] = collections.Counter()

        def upload(i: int) -> None:
            up = Upload(port, f"/v1/rigs?id=bench_big_{i}&replace=true&filename=big.glb", len(body), 300)
            try:
                up.start()
                if not up.answered(0.5):  # refused before its body: the body is never sent
                    up.send(body)
                statuses[up.answer().status] += 1
            except OSError as e:
                statuses[-1] += 1
                print(f"upload {i}: {e}", file=sys.stderr)
            finally:
                up.close()

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        threads = [threading.Thread(target=upload, args=(i,)) for i in range(args.uploads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.monotonic() - started
        time.sleep(args.settle)
        stop.set()
        sampler.join()
        after = rss_mib(server.pid)
        workers = {pid: round(rss_mib(pid), 1) for pid in children(server.pid)}
        print(
            json.dumps(
                {
                    "uploads": args.uploads,
                    "mib": args.mib,
                    "budget_mib": args.budget_mib or "default",
                    "statuses": dict(statuses),
                    "seconds": round(took, 2),
                    "server_rss_mib": {"before": round(before, 1), "peak": round(max(samples), 1), "after": after},
                    "children_rss_mib": workers,
                }
            )
        )
    finally:
        server.terminate()
        server.wait(20)


if __name__ == "__main__":
    main()
