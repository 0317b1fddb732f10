// Schema lint for the committed SDL: graphql-eslint's Relay rules, descriptions everywhere and
// the schema hygiene rules. tests/test_schema_lint.py runs it through lint_schema.mjs; by hand,
// from the repository root:
//   tests/clients/node_modules/.bin/eslint -c tests/clients/eslint.config.mjs schema.graphql
import { fileURLToPath } from "node:url";
import graphqlPlugin from "@graphql-eslint/eslint-plugin";

export const rules = {
  // Relay: Connection types, Edge types, PageInfo and the paging arguments.
  "@graphql-eslint/relay-connection-types": "error",
  "@graphql-eslint/relay-edge-types": [
    "error",
    {
      withEdgeSuffix: true,
      shouldImplementNode: true,
      // Off: it would flag every list in the schema ([Section!]!, the connections' `nodes`,
      // submitAttempts' results...). Relay's spec asks connections for paged lists only; short
      // fixed lists stay plain lists.
      listTypeCanWrapOnlyEdgeType: false,
    },
  ],
  "@graphql-eslint/relay-page-info": "error",
  // Every connection field takes first/after and last/before.
  "@graphql-eslint/relay-arguments": ["error", { includeBoth: true }],

  // A description on every kind of definition the rule knows in an SDL (OperationDefinition is
  // for documents, not schemas).
  "@graphql-eslint/require-description": [
    "error",
    {
      types: true,
      rootField: true,
      FieldDefinition: true,
      InputValueDefinition: true,
      EnumValueDefinition: true,
      DirectiveDefinition: true,
    },
  ],
  "@graphql-eslint/description-style": ["error", { style: "block" }],
  "@graphql-eslint/no-hashtag-description": "error",
  "@graphql-eslint/require-deprecation-reason": "error",
  "@graphql-eslint/no-unreachable-types": "error",
  // Output types carry exactly one `id: ID!`, except those that are no entity of their own:
  // connections, edges and PageInfo (Relay's plumbing), the Success/Error members of the
  // mutation result unions (the *Payload unions themselves are no object types, the rule skips
  // them) and the *Progress aggregates computed per viewer.
  "@graphql-eslint/strict-id-in-types": [
    "error",
    {
      acceptedIdNames: ["id"],
      acceptedIdTypes: ["ID"],
      exceptions: {
        // Values with no identity of their own, always reached through their owner:
        // Viewer.streak, Viewer.activity, Task.state, an error's problems, and queue
        // entries and reservations (keyed by taskId and leaseToken).
        types: [
          "PageInfo",
          "DailyActivity",
          "FieldProblem",
          "QueueEntry",
          "Reservation",
          "Streak",
          "TaskState",
        ],
        suffixes: ["Connection", "Edge", "Success", "Error", "Progress"],
      },
    },
  ],
  // The plugin's recommended naming for schemas: PascalCase types, camelCase fields and
  // arguments, UPPER_CASE enum values, no get/query prefixes on root fields.
  "@graphql-eslint/naming-convention": [
    "error",
    {
      types: "PascalCase",
      FieldDefinition: "camelCase",
      InputValueDefinition: "camelCase",
      Argument: "camelCase",
      DirectiveDefinition: "camelCase",
      EnumValueDefinition: "UPPER_CASE",
      "FieldDefinition[parent.name.value=Query]": {
        forbiddenPrefixes: ["query", "get"],
        forbiddenSuffixes: ["Query"],
      },
      "FieldDefinition[parent.name.value=Mutation]": {
        forbiddenPrefixes: ["mutation"],
        forbiddenSuffixes: ["Mutation"],
      },
    },
  ],
  // Within one enum, values differing only in case (graphql-js accepts Active and ACTIVE).
  // Values repeated across enums (LEASE_EXPIRED in each reservation error code) are fine.
  "@graphql-eslint/unique-enum-value-names": "error",
};

// The flat config for one schema file; the SDL being linted is also the schema the rules check
// against.
export function schemaLintConfig(schemaPath) {
  return [
    {
      files: ["**/*.graphql"],
      languageOptions: {
        parser: graphqlPlugin.parser,
        parserOptions: { graphQLConfig: { schema: schemaPath } },
      },
      plugins: { "@graphql-eslint": graphqlPlugin },
      rules,
    },
  ];
}

export default schemaLintConfig(fileURLToPath(new URL("../../schema.graphql", import.meta.url)));
