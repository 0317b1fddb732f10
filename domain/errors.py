"""Expected failures of domain commands, each with a stable ``code`` for callers to map."""

from collections.abc import Iterable
from typing import NamedTuple


class DomainError(Exception):
    """A failure the caller is expected to handle; ``code`` never changes once published."""

    code: str = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Problem(NamedTuple):
    """One thing wrong with an input: where (``courses[0].title``; '' = the whole input)."""

    path: str
    message: str


class ContentImportError(DomainError):
    """A content document could not be read or is invalid; nothing was written."""

    code = "INVALID_CONTENT"

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class InvalidTimezone(DomainError):
    """Not an IANA time zone name known to this server."""

    code = "INVALID_TIMEZONE"


class InvalidHandle(DomainError):
    """A handle must be 1–40 printable characters."""

    code = "INVALID_HANDLE"


class AttemptRejected(DomainError):
    """An attempt was refused; nothing was written. ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class QueueRequestRejected(DomainError):
    """A task-queue command (reserve, extend, release) was refused; nothing changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class CourseNotFound(DomainError):
    code = "COURSE_NOT_FOUND"


class NotEnrolled(DomainError):
    code = "NOT_ENROLLED"


class EnrollmentCompleted(DomainError):
    code = "ALREADY_COMPLETED"


class InvalidBadgeRule(DomainError):
    """A badge or rule was refused; ``problems`` name the JSON path of each bad field."""

    code = "INVALID_CRITERIA"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


class BadgeNotFound(DomainError):
    code = "NOT_FOUND"


class StreakFreezeRejected(DomainError):
    """A streak freeze grant was refused; nothing changed. ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AwardRevocationRefused(DomainError):
    """An award could not be revoked: ``NOT_FOUND``, ``ALREADY_REVOKED`` or ``INVALID_REASON``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
