"""A server clock the test moves: pass it as ``make_client(clock=...)``."""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now
