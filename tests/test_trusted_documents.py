"""Trusted documents: with a manifest, only its operations run, by id or by exact text, and
everything else is refused before parsing, telling a prober nothing about the schema."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from gql import cli
from gql.trusted_documents import ManifestError, TrustedDocuments, build_manifest, document_id
from tests.examples import EXAMPLES
from tests.graphql_client import GraphQLClient

NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"


@pytest.fixture
def manifest(tmp_path: Path) -> dict[str, Any]:
    built = build_manifest(EXAMPLES)
    (tmp_path / "manifest.json").write_text(json.dumps(built))
    return built


@pytest.fixture
def trusted(make_client: Any, manifest: dict[str, Any], tmp_path: Path) -> GraphQLClient:
    client: GraphQLClient = make_client(trusted_documents=tmp_path / "manifest.json")
    return client


def _body(manifest: dict[str, Any], name: str) -> str:
    (body,) = [op["body"] for op in manifest["operations"] if op["name"] == name]
    return str(body)


async def _post(client: GraphQLClient, payload: dict[str, Any]) -> Any:
    token = client.token(uuid.uuid4())
    return await client.http.post(
        "/graphql", json=payload, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_listed_document_runs_by_text_and_by_id(
    trusted: GraphQLClient, manifest: dict[str, Any]
) -> None:
    body = _body(manifest, "ActivityCalendar")
    variables = {"from": "2026-12-01", "to": "2026-12-07"}

    by_text = await _post(trusted, {"query": body, "variables": variables})
    by_id = await _post(
        trusted,
        {
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(body)}},
        },
    )

    for response in (by_text, by_id):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["viewer"]["activity"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"query": "{ __typename }"},
        {"query": "{ viewer { foo } }"},
        {"query": "{ course(id: 1) }"},
        {"query": "query { __schema { types { name } } }"},
        {"query": "{{{{"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}},
    ],
)
async def test_anything_else_is_refused_before_parsing_and_names_nothing(
    trusted: GraphQLClient, payload: dict[str, Any]
) -> None:
    response = await _post(trusted, payload)

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "this server runs only its trusted documents",
                "extensions": {"code": NOT_IN_LIST},
            }
        ]
    }


async def test_an_id_with_another_text_is_refused(
    trusted: GraphQLClient, manifest: dict[str, Any]
) -> None:
    listed = _body(manifest, "BadgeCatalog")

    response = await _post(
        trusted,
        {
            "query": listed + " ",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_id(listed)}},
        },
    )

    assert response.json()["errors"][0]["extensions"]["code"] == NOT_IN_LIST


def test_the_manifest_holds_each_operation_with_the_fragments_it_spreads(tmp_path: Path) -> None:
    (tmp_path / "a.graphql").write_text(
        "query A { courses { nodes { ...Card } } } fragment Card on Course { id ...Title }"
    )
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "b.graphql").write_text(
        "fragment Title on Course { title } mutation B { __typename }"
    )

    built = build_manifest(tmp_path)

    bodies = {op["name"]: op["body"] for op in built["operations"]}
    assert built["format"] == "apollo-persisted-query-manifest"
    assert "fragment Card" in bodies["A"] and "fragment Title" in bodies["A"]
    assert "fragment" not in bodies["B"]
    assert all(op["id"] == document_id(op["body"]) for op in built["operations"])


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no .graphql files"),
        ({"a.graphql": "{ __typename }"}, "needs a name"),
        ({"a.graphql": "query A { ...Missing }"}, "fragment Missing"),
        ({"a.graphql": "query A { x }", "b.graphql": "query A { y }"}, "operation A"),
        ({"a.graphql": "query A {"}, "a.graphql"),
    ],
)
def test_a_folder_that_makes_no_manifest_says_why(
    tmp_path: Path, files: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    status = cli.main(["documents", "build", str(tmp_path)])

    assert status == 1
    assert message in capsys.readouterr().err


def test_the_cli_writes_a_manifest_that_loads(tmp_path: Path) -> None:
    output = tmp_path / "out.json"

    status = cli.main(["documents", "build", str(EXAMPLES), "--output", str(output)])

    assert status == 0
    loaded = TrustedDocuments.load(output)
    assert len(loaded.documents) == len(list(EXAMPLES.glob("*.graphql")))


def test_a_plain_id_map_loads_and_a_wrong_id_does_not(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({f"sha256:{document_id('{ a }')}": "{ a }"}))
    bad.write_text(json.dumps({document_id("{ a }"): "{ b }"}))

    assert TrustedDocuments.load(good).document(id_=document_id("{ a }"), text=None) == "{ a }"
    with pytest.raises(ManifestError, match="not the SHA-256"):
        TrustedDocuments.load(bad)
