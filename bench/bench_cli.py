"""Start-up time of ``clusterwatch --help`` beside two baselines measured in the same run:
a bare interpreter (the floor) and ``import requests`` (what a careless import costs).

Runs each command N times (default 30) after warm-up and reports the median.
Ends with ``<name>: <value> <unit>`` lines. Goal: ``--help`` under 150 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def median_ms(argv: list[str], runs: int) -> float:
    for _ in range(3):
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    clusterwatch = shutil.which("clusterwatch", path=str(BIN)) or "clusterwatch"
    figures = {
        "cli_help_median": median_ms([clusterwatch, "--help"], runs),
        "python_floor_median": median_ms([sys.executable, "-c", "pass"], runs),
        "import_requests_median": median_ms([sys.executable, "-c", "import requests"], runs),
    }
    for name, value in figures.items():
        print(f"{name}: {value:.1f} ms")


if __name__ == "__main__":
    main()
