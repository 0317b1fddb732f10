// TypeScript types for every operation in docs/examples, from the committed SDL, the way a
// TypeScript client would generate them. tests/test_js_clients.py runs it with CODEGEN_OUT set
// to a temporary file and then type-checks that file with `tsc --strict`.
// Paths are relative to this directory, the working directory the test runs codegen in.
import type { CodegenConfig } from "@graphql-codegen/cli";

const out = process.env.CODEGEN_OUT;
if (!out) {
  throw new Error("set CODEGEN_OUT to the .ts file to generate, e.g. CODEGEN_OUT=/tmp/ops.ts");
}

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: "../../docs/examples/*.graphql",
  // A glob matching nothing must be an error, not an empty file that type-checks.
  ignoreNoDocuments: false,
  generates: {
    [out]: {
      plugins: ["typescript", "typescript-operations"],
      config: {
        // Every custom scalar needs a TypeScript type here: a new scalar fails codegen
        // instead of silently becoming `any`.
        strictScalars: true,
        scalars: { DateTime: "string", Date: "string", JSON: "unknown", UUID: "string" },
      },
    },
  },
};

export default config;
