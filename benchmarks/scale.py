"""Benchmark `scale`: notebooks 01-05 in local mode at 500, 1,000 and 5,000 objects (5 classes).

Each size runs in a local AWS of its own (its Open Images mirror drawn once into a cache the sizes
share, before the clock starts), with `images_per_class` = objects / 5 and, at every size, a team
of :data:`TEAM` labelers (the `labelers` setting): the default team of 3, each answering every
object, would spend 4,000 x ~8 simulated seconds on the 5,000-object run's train job, 5-8 real
minutes at the local AWS's speed of 100, where a real job of that size has a bigger team.
Reported per size: the walkthrough's seconds, its seconds per 1,000 objects, and the peak
resident memory of the largest process (the benchmark itself, each notebook's kernel, the local
AWS and their children: training, transform), read from the kernel's own high-water mark (Linux
`VmHWM`) every half second.
Goals: 5,000 objects in <= 300 s, every process <= 2 GB, and seconds per 1,000 at 5,000 within
1.5x of that at 500.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.isolated import own_local_aws
from benchmarks.report import Result, quantity
from helpers import demo, local

NAME = "scale"
SIZES: tuple[int, ...] = (500, 1000, 5000)
CLASSES = ("Musical instrument", "Fruit", "Cheetah", "Tiger", "Snowman")
#: Labelers in the team (Cognito users notebook 02 creates), the same at every size.
TEAM = 30
#: Goals: seconds for the largest size, bytes of any one process, and the per-1,000 ratio.
GOAL_SECONDS = 300.0
GOAL_BYTES = 2 * 1024**3
GOAL_RATIO = 1.5


@dataclass(frozen=True)
class SizeRun:
    """One walkthrough at one size: objects, seconds, per-notebook seconds, peak RSS (bytes)."""

    objects: int
    seconds: float
    notebooks: tuple[tuple[str, float], ...]
    peak_rss: int
    peak_process: str

    @property
    def per_thousand(self) -> float:
        """Seconds per 1,000 objects."""
        return self.seconds / self.objects * 1000


def _high_water_mark(pid: int) -> int:
    """A process's peak resident memory so far in bytes (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class PeakMemory:
    """The largest peak RSS among a process tree (and one more process), sampled in a thread."""

    def __init__(self, roots: Callable[[], Sequence[int]], interval: float = 0.5) -> None:
        self._roots = roots
        self._interval = interval
        self._stop = threading.Event()
        self.peaks: dict[int, tuple[int, str]] = {}
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        import psutil

        for root in self._roots():
            try:
                parent = psutil.Process(root)
                tree = [parent, *parent.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in tree:
                peak = _high_water_mark(proc.pid)
                if peak > self.peaks.get(proc.pid, (0, ""))[0]:
                    try:
                        name = " ".join(proc.cmdline()[:3])[-60:] or proc.name()
                    except psutil.Error:
                        name = str(proc.pid)
                    self.peaks[proc.pid] = (peak, name)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def largest(self) -> tuple[int, str]:
        """The largest peak seen and the process it belongs to."""
        return max(self.peaks.values(), default=(0, ""))

    @contextmanager
    def watching(self) -> Iterator[PeakMemory]:
        """Sample while the block runs (and once more at its end)."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._sample()


def _local_aws_pid() -> int | None:
    answer = local.status()
    return int(answer["pid"]) if answer.get("running") else None


def run_size(folder: Path, objects: int, cache: Path) -> SizeRun:
    """Run notebooks 01-05 once at `objects` objects in a local AWS of their own."""
    per_class = objects // len(CLASSES)
    size_folder = folder / f"scale-{objects}"
    print(f"-- {objects:,} objects ({per_class} per class)", flush=True)
    with own_local_aws(size_folder, cache=cache, mirror_per_class=mirror_size(per_class)):
        os.environ["WALKTHROUGH_CLASSES"] = ",".join(CLASSES)
        os.environ["WALKTHROUGH_IMAGES_PER_CLASS"] = str(per_class)
        os.environ["WALKTHROUGH_LABELERS"] = ",".join(f"labeler-{i}" for i in range(1, TEAM + 1))
        run_dir = size_folder / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        os.environ["WALKTHROUGH_RUN_DIR"] = str(run_dir)
        server = _local_aws_pid()
        memory = PeakMemory(lambda: [os.getpid(), *([server] if server else [])])
        started = time.monotonic()
        with memory.watching():
            results = [demo.run_notebook(nb, run_dir, {"mode": "local"}) for nb in demo.notebooks()]
        seconds = time.monotonic() - started
    failed = [r for r in results if not r.ok]
    if failed:
        raise AssertionError(f"{objects} objects: {failed[0].name} failed: {failed[0].error}")
    peak, process = memory.largest()
    done = SizeRun(objects, seconds, tuple((r.name, r.seconds) for r in results), peak, process)
    print(
        f"   {seconds:.0f} s ({', '.join(f'{r.name[:2]} {r.seconds:.0f} s' for r in results)}), "
        f"peak RSS {peak / 1024**2:.0f} MB in {process}",
        flush=True,
    )
    return done


def mirror_size(per_class: int) -> int:
    """Pictures per class the mirror needs: the staged, test and example ones, and a margin."""
    return max(80, min(2000, per_class + 40))


def result(runs: Sequence[SizeRun]) -> Result:
    """The table (one row per size) and the `scale:` line with the goals' verdicts."""
    table = (
        ("objects", "time", "per 1,000", "peak RSS", "01", "02", "03", "04", "05"),
        *(
            (
                f"{r.objects:,}",
                quantity(r.seconds, "s"),
                quantity(r.per_thousand, "s"),
                f"{r.peak_rss / 1024**2:.0f} MB",
                *(f"{s:.0f}" for _, s in r.notebooks),
            )
            for r in runs
        ),
    )
    smallest, largest = runs[0], runs[-1]
    ratio = largest.per_thousand / smallest.per_thousand if smallest.per_thousand else 0.0
    peak = max(r.peak_rss for r in runs)
    sizes = "; ".join(
        f"{r.objects:,}: {r.seconds:.0f} s, {r.per_thousand:.0f} s/1,000, "
        f"{r.peak_rss / 1024**2:.0f} MB"
        for r in runs
    )
    verdicts = (
        f"per-1,000 ratio {largest.objects:,}/{smallest.objects:,} {ratio:.2f}x "
        f"(goal <= {GOAL_RATIO}x), {largest.objects:,} in {largest.seconds:.0f} s "
        f"(goal <= {GOAL_SECONDS:.0f} s), peak {peak / 1024**2:.0f} MB (goal <= 2048 MB)"
    )
    return Result(NAME, largest.seconds, None, table, f"{sizes}; {verdicts}")


def run(folder: Path, sizes: Sequence[int] = SIZES) -> Result:
    """Run the walkthrough at each size (the mirror drawn first, untimed); report the figures."""
    cache = folder / "scale-cache"
    runs = [run_size(folder, objects, cache) for objects in sizes]
    return result(runs)
