"""Trusted documents: in production, only operations the team shipped run.

``learntrack documents build DIR`` turns a folder of ``.graphql`` files into a manifest:
each operation, with the fragments it spreads, printed as one document and named by the
SHA-256 of that text. The manifest is Apollo's persisted-query manifest format, and a plain
``{id: document}`` object (what Relay's compiler and GraphQL Code Generator's client preset
write) loads as well.

With ``LEARNTRACK_TRUSTED_DOCUMENTS`` naming a manifest, a request runs only when it names a
listed document by id (``documentId``, or Apollo's ``extensions.persistedQuery.sha256Hash``)
or sends the exact text of one. Anything else is refused before it is parsed, so nothing
about the schema can be learned by sending documents.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"


class ManifestError(Exception):
    """A folder or manifest that cannot make a trusted-document list; the message says where."""


def document_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of every operation in ``directory``'s ``.graphql`` files (recursively).

    Fragments are shared across files; operation names must be unique."""
    files = sorted(directory.rglob("*.graphql"))
    if not files:
        raise ManifestError(f"{directory}: no .graphql files")
    operations: dict[str, tuple[OperationDefinitionNode, Path]] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for path in files:
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except GraphQLError as error:
            raise ManifestError(f"{path}: {error.message}") from error
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ManifestError(f"{path}: every operation needs a name")
                name = definition.name.value
                if name in operations:
                    raise ManifestError(
                        f"{path}: operation {name} is also in {operations[name][1]}"
                    )
                operations[name] = (definition, path)
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
    entries = []
    for name, (operation, path) in sorted(operations.items()):
        used = _fragments_of(operation, fragments, path)
        body = print_ast(DocumentNode(definitions=(operation, *used)))
        entries.append(
            {"id": document_id(body), "name": name, "type": operation.operation.value, "body": body}
        )
    return {"format": MANIFEST_FORMAT, "version": 1, "operations": entries}


def _fragments_of(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode], path: Path
) -> list[FragmentDefinitionNode]:
    """The fragments ``operation`` spreads, directly or through other fragments, by name."""
    found: dict[str, FragmentDefinitionNode] = {}
    pending: list[Any] = [operation]
    while pending:
        for name in _spreads(pending.pop()):
            if name in found:
                continue
            if name not in fragments:
                raise ManifestError(f"{path}: fragment {name} is defined in no file")
            found[name] = fragments[name]
            pending.append(fragments[name])
    return [found[name] for name in sorted(found)]


def _spreads(node: Any) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names


class TrustedDocuments:
    """The documents a manifest lists, by id."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        self.documents = dict(documents)

    @classmethod
    def load(cls, path: Path) -> "TrustedDocuments":
        """Read an Apollo manifest or a plain ``{id: document}`` object; every id must be
        the SHA-256 of its document (a ``sha256:`` prefix is allowed)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ManifestError(f"{path}: {error}") from error
        if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT:
            pairs: Iterable[tuple[Any, Any]] = (
                (entry.get("id"), entry.get("body")) for entry in data.get("operations", [])
            )
        elif isinstance(data, dict):
            pairs = data.items()
        else:
            raise ManifestError(f"{path}: not a persisted-query manifest")
        documents = {}
        for raw_id, body in pairs:
            if not isinstance(raw_id, str) or not isinstance(body, str):
                raise ManifestError(f"{path}: every entry needs a string id and document")
            id_ = raw_id.removeprefix("sha256:").lower()
            if document_id(body) != id_:
                raise ManifestError(f"{path}: {raw_id} is not the SHA-256 of its document")
            documents[id_] = body
        return cls(documents)

    def document(self, *, id_: str | None, text: str | None) -> str | None:
        """The listed document a request names by id or sends as text; None if not listed."""
        if id_ is not None:
            return self.documents.get(id_.removeprefix("sha256:").lower())
        if text is not None and self.documents.get(document_id(text)) == text:
            return text
        return None
