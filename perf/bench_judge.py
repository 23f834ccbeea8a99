"""Benchmark: 300 distinct accuracy verdicts through OpenAICompatibleJudge at 200 ms server latency.

Runs the real ``openai`` client against the local test server (``tests/judge_server.py``) with the judge's
default concurrency and a fresh temporary cache, then runs again: the second run must send no request.
Target: first run under 6 s. Usage: ``python perf/bench_judge.py [--n 300] [--latency 0.2]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from judge_server import JudgeServer  # noqa: E402

from pixbench.judge import JudgeCache, OpenAICompatibleJudge, accuracy_messages  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run both passes, print wall time and request counts; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300, help="distinct verdicts to ask (default 300)")
    parser.add_argument("--latency", type=float, default=0.2, help="server delay per request in s")
    parser.add_argument("--target", type=float, default=6.0, help="first-run wall-time target in s")
    args = parser.parse_args(argv)

    requests = [
        accuracy_messages(
            question=f"Is the door in image {i} open or closed?",
            options_text="(a) Open (b) Closed",
            answer="(a)",
            response=f"The door in image {i} is open.",
        )
        for i in range(args.n)
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        JudgeServer(delay=args.latency) as server,
        JudgeCache(Path(tmp) / "judge.sqlite") as cache,
    ):
        judge = OpenAICompatibleJudge(base_url=server.base_url, api_key="bench", cache=cache)
        print(f"judge: {judge!r}")
        start = time.perf_counter()
        first = judge.ask_many(requests)
        first_s = time.perf_counter() - start
        first_requests = server.request_count
        print(f"run 1: {first_s:.2f} s, {first_requests} requests, {sum(r.ok for r in first)} ok, "
              f"max in flight {server.max_in_flight}, cached rows {len(cache)}")
        server.reset()
        start = time.perf_counter()
        second = judge.ask_many(requests)
        second_s = time.perf_counter() - start
        print(f"run 2: {second_s:.3f} s, {server.request_count} requests, "
              f"{sum(r.cached for r in second)} from cache")
        judge.close()
        failed = (
            first_s >= args.target
            or first_requests != args.n
            or not all(r.ok for r in first)
            or server.request_count != 0
            or [r.text for r in second] != [r.text for r in first]
        )
    print("FAIL" if failed else f"OK (target: first run < {args.target:g} s, second run 0 requests)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
