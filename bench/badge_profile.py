"""Where the badge step's Python time goes: pyinstrument over a census pass, one learner.

py-spy (as ``attempt_profile.py`` uses) samples from outside and is preferred when it is
installed; this profile needs only pyinstrument, which samples the event loop's thread in
this process. It slows the code it measures, so read shares, not milliseconds. The
summary keeps only the subtrees of ``award_for_attempt`` and sums each function's self
time there (``profiled_server._self_times``), so idle time and the rest of the attempt do
not dilute it.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

TOP = 25
STEP = "award_for_attempt"


async def profile(run: Callable[[], Awaitable[Any]], output: Path) -> tuple[Path, str]:
    """Run ``run`` under pyinstrument; write .html, .txt and .summary.txt next to ``output``."""
    from pyinstrument import Profiler

    import profiled_server  # pyinstrument is optional: imported only when profiling

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        await run()
    finally:
        profiler.stop()
    session = profiler.last_session
    assert session is not None
    output.with_suffix(".html").write_text(profiler.output_html())
    output.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=True))
    root = session.root_frame(trim_stem=False)
    steps, stack = [], [root] if root else []
    while stack:
        frame = stack.pop()
        if frame.function == STEP and not frame.is_synthetic:
            steps.append(frame)  # the outermost call only: its subtree holds any inner ones
        else:
            stack.extend(frame.children)
    by_function: dict[tuple[str, str], float] = defaultdict(float)
    for step in steps:
        for key, seconds in profiled_server._self_times(step).items():
            by_function[key] += seconds
    step_s = sum(step.time for step in steps)
    lines = [
        f"{session.duration:.2f} s sampled; {step_s:.2f} s of it in {STEP}"
        f" ({step_s / session.duration:.0%}), {len(steps)} call sites",
        "",
    ]
    by_package: dict[str, float] = defaultdict(float)
    for (package, _), seconds in by_function.items():
        by_package[package] += seconds
    lines += profiled_server._ranked(f"self time in {STEP} by package", by_package, step_s, 12)
    lines += [""]
    functions = {function: seconds for (_, function), seconds in by_function.items()}
    lines += profiled_server._ranked(f"self time in {STEP} by function", functions, step_s, TOP)
    summary = "\n".join(lines) + "\n"
    path = output.with_suffix(".summary.txt")
    path.write_text(summary)
    return path, summary
