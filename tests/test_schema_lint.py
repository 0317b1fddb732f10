"""Schema lint over the committed SDL: graphql-eslint's Relay rules, descriptions and ids.

tests/clients/eslint.config.mjs holds the rules and their options; lint_schema.mjs runs them
over schema.graphql and fails with one line per finding (location, rule, message). `make test`
installs eslint and @graphql-eslint/eslint-plugin there from the committed package-lock.json.
By hand, from the repository root:
    tests/clients/node_modules/.bin/eslint -c tests/clients/eslint.config.mjs schema.graphql
"""

import json

from tests.test_js_clients import SCHEMA, node

# The rules the config must apply to the schema: a config that silently lost some would pass.
EXPECTED_RULES = {
    f"@graphql-eslint/{rule}"
    for rule in (
        "relay-connection-types",
        "relay-edge-types",
        "relay-page-info",
        "relay-arguments",
        "require-description",
        "description-style",
        "no-hashtag-description",
        "require-deprecation-reason",
        "no-unreachable-types",
        "strict-id-in-types",
        "naming-convention",
        "unique-enum-value-names",
    )
}


def test_committed_sdl_passes_the_schema_lint() -> None:
    # node() fails the test when node_modules is missing (run `make test`) and, on any finding,
    # shows the script's stderr: every finding with its line, rule and message.
    output = node("lint_schema.mjs", str(SCHEMA))
    applied = set(json.loads(output)["rules"])
    assert EXPECTED_RULES <= applied, f"rules not applied: {sorted(EXPECTED_RULES - applied)}"
