"""Real JavaScript GraphQL clients over the committed schema, docs/examples and a live server.

graphql-js, GraphQL Code Generator + tsc and Apollo Client run as Node scripts from
tests/clients; `make test` installs them there from the committed package-lock.json.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.demo_server import REQUEST_TIMEOUT, demo_server

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ROOT / "tests" / "clients"
SCHEMA = ROOT / "schema.graphql"
EXAMPLES = ROOT / "docs" / "examples"
# Only a safety net against a hung process: the scripts take seconds.
TIMEOUT_SECONDS = 300
OPERATION = re.compile(r"^(query|mutation|subscription)\s+(\w+)", re.M)


def node(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `node ARGS` in tests/clients, assert it exits 0, return its stdout."""
    if not (CLIENTS / "node_modules").is_dir():
        # A failure, not a skip: a skipped test would hide that the JS clients never ran.
        pytest.fail("tests/clients/node_modules is missing: run `make test`, it runs npm ci")
    result = subprocess.run(
        ["node", *args],
        cwd=CLIENTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, (
        f"node {' '.join(args)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def example_operations() -> dict[str, str]:
    """Operation name -> `Query`/`Mutation`/`Subscription`, from every file in docs/examples."""
    found: dict[str, str] = {}
    for path in sorted(EXAMPLES.glob("*.graphql")):
        for kind, name in OPERATION.findall(path.read_text()):
            found[name] = kind.capitalize()
    return found


def test_graphql_js_rebuilds_the_committed_sdl() -> None:
    node("sdl_roundtrip.mjs", str(SCHEMA))


def test_every_example_validates_with_graphql_js() -> None:
    output = node("validate_examples.mjs", str(SCHEMA), str(EXAMPLES))
    # The script saw the same operations this file finds, so none was skipped unvalidated.
    assert sorted(json.loads(output)["operations"]) == sorted(example_operations()), output


def test_codegen_types_every_example_and_tsc_accepts_them(tmp_path: Path) -> None:
    generated = tmp_path / "operations.ts"
    node(
        "node_modules/.bin/graphql-codegen",
        "--config",
        "codegen.ts",
        env={**os.environ, "CODEGEN_OUT": str(generated)},
    )
    # --skipLibCheck: the generated file imports nothing; without it tsc would also check the
    # unrelated @types/node it finds in tests/clients/node_modules.
    node(
        "node_modules/typescript/bin/tsc",
        "--strict",
        "--noEmit",
        "--target",
        "es2022",
        "--skipLibCheck",
        str(generated),
    )
    source = generated.read_text()
    operations = example_operations()
    assert operations, f"no operations in {EXAMPLES}"
    dropped = [
        f"{name}{kind}"
        for name, kind in operations.items()
        if f"export type {name}{kind} = " not in source
        or f"export type {name}{kind}Variables = " not in source
    ]
    assert not dropped, f"codegen produced no types for {dropped}"


@pytest.mark.slow
def test_apollo_cache_follows_submit_attempt_without_refetching(tmp_path: Path) -> None:
    with demo_server(tmp_path / "pgdata") as server:
        response = httpx.post(
            f"{server.base_url}/graphql",
            json={"query": "{ courses(first: 1) { edges { node { id } } } }"},
            timeout=REQUEST_TIMEOUT,
        )
        assert response.status_code == 200, response.text
        course_id = response.json()["data"]["courses"]["edges"][0]["node"]["id"]
        node("apollo_cache.mjs", f"{server.base_url}/graphql", server.token, course_id)
