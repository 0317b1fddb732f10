"""The server as ``course_page.py`` starts it, with a pyinstrument profiler on signals.

SIGUSR1 starts sampling the main thread (the event loop); SIGUSR2 stops and writes the
reports. Start-up, warm-up and shutdown stay out of the profile, so it shows only the
measured requests.

    python bench/profiled_server.py --port 8123 --output bench/results/course_page_profile
"""

import argparse
import gc
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType

import uvicorn
from pyinstrument import Profiler
from pyinstrument.frame import Frame

# Sampling the main thread without async attribution: time the loop spends idle between
# requests shows up as the loop's own frames instead of being charged to coroutines.
profiler = Profiler(interval=0.001, async_mode="disabled")


class GcClock:
    """Time in garbage collection by generation; the sampler charges it to any allocating frame."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.seconds[generation] += time.perf_counter() - self._started
        self.collections[generation] += 1

    def report(self) -> str:
        by_generation = ", ".join(
            f"gen{generation}: {self.collections[generation]} in {seconds:.2f} s"
            for generation, seconds in enumerate(self.seconds)
        )
        return f"{sum(self.seconds):.2f} s of it in garbage collection ({by_generation})"


gc_clock = GcClock()


def start_profiling(signum: int, frame: FrameType | None) -> None:
    gc.callbacks.append(gc_clock)
    profiler.start()


def write_reports(output: Path) -> None:
    profiler.stop()
    gc.callbacks.remove(gc_clock)
    session = profiler.last_session
    summary = output.with_suffix(".summary.txt")
    if session is None:
        summary.write_text("no samples were recorded\n")
        return
    session.save(str(output.with_suffix(".pyisession")))  # for pyinstrument --load=...
    output.with_suffix(".html").write_text(profiler.output_html())
    # show_all: the time is inside graphql-core and Strawberry, which the default view folds.
    output.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=True))
    by_function = _self_times(session.root_frame(trim_stem=False))
    # Written last: its appearance tells the benchmark that all reports are complete.
    summary.write_text(_summary(by_function, session.duration))


def _self_times(root: Frame | None) -> dict[tuple[str, str], float]:
    """Self time per (package, function), from the raw tree.

    pyinstrument's own flat view drops nodes under 1% of the total into their parent; an
    event loop's tree is thousands of small callbacks, so that would charge most of the
    work to the loop. Summing every node's own time keeps it where it was spent.
    """
    totals: dict[tuple[str, str], float] = defaultdict(float)
    stack = [root] if root else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue  # a "[self]"/"[await]" leaf; its time is counted at its parent
        children = sum(child.time for child in frame.children if not child.is_synthetic)
        function = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        totals[(_package(frame.file_path or ""), function)] += frame.time - children
    return totals


def _summary(by_function: dict[tuple[str, str], float], duration: float) -> str:
    by_package: dict[str, float] = defaultdict(float)
    for (package, _), seconds in by_function.items():
        by_package[package] += seconds
    lines = [
        f"{duration:.2f} s sampled on the event loop's thread",
        gc_clock.report(),
        "",
    ]
    lines += _ranked("self time by package", by_package, duration, limit=20)
    lines += [""]
    functions = {function: seconds for (_, function), seconds in by_function.items()}
    lines += _ranked("self time by function", functions, duration, limit=40)
    return "\n".join(lines) + "\n"


def _ranked(title: str, seconds_by_name: dict[str, float], total: float, limit: int) -> list[str]:
    ranked = sorted(seconds_by_name.items(), key=lambda item: -item[1])[:limit]
    lines = [f"{title:<72} {'seconds':>8} {'share':>6}"]
    lines += [f"{name[:72]:<72} {seconds:8.3f} {seconds / total:6.1%}" for name, seconds in ranked]
    return lines


def _package(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    parts = Path(path).parts
    for root in ("gql", "domain", "db"):
        if root in parts:
            return f"learntrack {root}/"
    if path.endswith("asyncio/runners.py"):
        # The loop's own frame: idle waiting plus uvloop's and httptools' C code.
        return "event loop (idle, socket I/O, HTTP parsing)"
    if path == "<built-in>":
        return "C functions called from Python"
    if "/bench/" in path:
        return "benchmark (clients, probes)"
    return f"stdlib {Path(path).stem}" if path else "(unknown)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True, help="report path, no suffix")
    args = parser.parse_args()
    signal.signal(signal.SIGUSR1, start_profiling)
    signal.signal(signal.SIGUSR2, lambda signum, frame: write_reports(args.output))
    uvicorn.run(
        "gql.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        workers=1,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
