"""The benchmarks that no other test imports still run, on a small load (their figures are
not judged here: tests never assert on time), and say nothing was lost or sent twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_broadcast_benchmark_runs_and_loses_nothing():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "broadcast.py"),
                          "--members", "1000"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result) == {"members", "audience", "audience_query_ms", "enqueue_s",
                           "delivered_per_s", "ratio_to_cap", "lost", "duplicates"}
    assert result["audience"] > 0 and result["lost"] == 0 and result["duplicates"] == 0


def test_email_bridge_benchmark_runs_and_loses_nothing():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "email_bridge.py"),
                          "--messages", "60", "--replies", "20"], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"messages", "seconds", "msgs_per_s", "baseline_msgs_per_s", "replies",
            "replies_per_s", "baseline_replies_per_s", "split_replies", "split_replies_per_s",
            "lost", "duplicates"} <= set(result)
    assert (result["messages"], result["replies"], result["split_replies"]) == (60, 20, 20)
    assert result["lost"] == 0 and result["duplicates"] == 0
