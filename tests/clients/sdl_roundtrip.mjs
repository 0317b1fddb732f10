// The committed SDL as graphql-js reads it: it builds, passes validateSchema, and printing it
// and building the print again gives the same schema, so JS tooling sees what the server serves.
import { readFileSync } from "node:fs";
import { buildSchema, lexicographicSortSchema, printSchema, validateSchema } from "graphql";
import { args, fail, ok } from "./common.mjs";

const [schemaPath] = args("SCHEMA_PATH");

let schema;
try {
  schema = buildSchema(readFileSync(schemaPath, "utf8"));
} catch (error) {
  fail(`${schemaPath} does not build: ${error.message}`);
}
const errors = validateSchema(schema);
if (errors.length > 0) {
  fail(`validateSchema: ${errors.map((e) => e.message).join("\n")}`);
}

const printed = printSchema(schema);
let reprinted;
try {
  reprinted = printSchema(buildSchema(printed));
} catch (error) {
  fail(`the re-printed SDL does not build: ${error.message}`);
}
// Sorted on both sides: type and field order is presentation, not meaning.
const sorted = (sdl) => printSchema(lexicographicSortSchema(buildSchema(sdl)));
if (sorted(printed) !== sorted(reprinted)) {
  fail("printSchema(buildSchema(printSchema(schema))) differs from printSchema(schema)");
}

ok({ types: Object.keys(schema.getTypeMap()).filter((n) => !n.startsWith("__")).length });
