// Every example operation in docs/examples parses and passes all of graphql-js's validation
// rules against the committed SDL: what a JS client would check before it sends them.
import { readFileSync } from "node:fs";
import { Kind, buildSchema, parse, validate } from "graphql";
import { args, fail, graphqlFiles, ok } from "./common.mjs";

const [schemaPath, examplesDir] = args("SCHEMA_PATH", "EXAMPLES_DIR");
const schema = buildSchema(readFileSync(schemaPath, "utf8"));

const operations = [];
const problems = [];
for (const { file, source } of graphqlFiles(examplesDir)) {
  let document;
  try {
    document = parse(source);
  } catch (error) {
    problems.push(`${file}: ${error.message}`);
    continue;
  }
  // validate() with no rules argument runs specifiedRules, i.e. all of them.
  for (const error of validate(schema, document)) {
    problems.push(`${file}: ${error.message}`);
  }
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const name = definition.name?.value;
    if (!name) {
      problems.push(`${file}: an operation has no name`);
    } else if (operations.includes(name)) {
      // Codegen and persisted-query manifests key operations by name: a repeat would collide.
      problems.push(`${file}: operation ${name} is defined twice`);
    } else {
      operations.push(name);
    }
  }
}

if (problems.length > 0) fail(problems.join("\n"));
if (operations.length === 0) fail(`no operations in ${examplesDir}/*.graphql`);
ok({ operations });
