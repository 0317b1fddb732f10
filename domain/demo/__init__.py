"""Demo content shipped with the package (see ``course.yaml``)."""

from pathlib import Path

DEMO_COURSE_PATH = Path(__file__).resolve().parent / "course.yaml"
