"""Content negotiation for GraphQL over HTTP: which media type a response is served in.

``application/graphql-response+json`` lets status codes carry meaning (4xx for a request
that could not be executed); legacy ``application/json`` answers 200 to every well-formed
request. Since the spec's 2025 watershed a request without ``Accept`` gets the new type.
"""

from dataclasses import dataclass

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"
SERVED = (GRAPHQL_RESPONSE_JSON, JSON)
UTF8 = ("utf-8", "utf8")


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    params: dict[str, str]
    quality: float
    position: int

    def specificity(self, media_type: str) -> int:
        """2 for an exact match, 1 for ``type/*``, 0 for ``*/*``, -1 for no match."""
        if self.type == media_type:
            return 2
        if self.type == media_type.split("/")[0] + "/*":
            return 1
        return 0 if self.type == "*/*" else -1


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``type/subtype`` in lower case and its parameters (names lower case, quotes removed)."""
    media_type, *raw_params = value.split(";")
    params = {}
    for raw in raw_params:
        name, _, param = raw.partition("=")
        params[name.strip().lower()] = param.strip().strip('"')
    return media_type.strip().lower(), params


def parse_accept(header: str) -> list[MediaRange]:
    """The ranges of an Accept header; malformed entries and qualities are skipped."""
    ranges = []
    for position, item in enumerate(header.split(",")):
        media_type, params = parse_media_type(item)
        if media_type.count("/") != 1:
            continue
        try:
            quality = float(params.pop("q", "1"))
        except ValueError:
            continue
        if 0 <= quality <= 1:
            ranges.append(MediaRange(media_type, params, quality, position))
    return ranges


def _preference(media_type: str, ranges: list[MediaRange]) -> tuple[float, int, int]:
    # The most specific range that matches decides (RFC 9110 §12.5.1): with
    # "application/json;q=0, */*" JSON is refused although "*/*" would match it.
    matches = [(r.specificity(media_type), r) for r in ranges if r.specificity(media_type) >= 0]
    if not matches:
        return (0.0, -1, 0)
    specificity, best = max(matches, key=lambda match: (match[0], match[1].quality))
    if best.params.get("charset", "utf-8").lower() not in UTF8:
        return (0.0, -1, 0)
    return (best.quality, specificity, -best.position)


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts none we serve (406)."""
    if accept is None or not accept.strip():
        return GRAPHQL_RESPONSE_JSON
    ranges = parse_accept(accept)
    # Quality first, then named explicitly over a wildcard, then the client's order; on a
    # bare wildcard the legacy type wins, as clients that send only "*/*" predate the new one.
    best = max(
        SERVED, key=lambda media_type: (*_preference(media_type, ranges), media_type == JSON)
    )
    return best if _preference(best, ranges)[0] > 0 else None


def accepts_html(accept: str | None) -> bool:
    """Whether the client names ``text/html`` (a browser): wildcards alone do not count."""
    return accept is not None and any(
        r.type == HTML and r.quality > 0 for r in parse_accept(accept)
    )
