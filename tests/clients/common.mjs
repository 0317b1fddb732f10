// Shared by the scripts in this directory: each one reports failure with a non-zero exit and a
// message on stderr, and success with one JSON line on stdout that tests/test_js_clients.py shows.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

export function ok(result) {
  console.log(JSON.stringify({ ok: true, ...result }));
}

// argv[2..] by position, with the usage line when one is missing.
export function args(...names) {
  const values = process.argv.slice(2);
  if (values.length !== names.length) {
    fail(`usage: node ${process.argv[1]} ${names.join(" ")}`);
  }
  return values;
}

// Every *.graphql file in dir, sorted so the output is stable: [{file, source}].
export function graphqlFiles(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".graphql"))
    .sort()
    .map((name) => ({ file: name, source: readFileSync(join(dir, name), "utf8") }));
}

// Any uncaught error (a GraphQL error from Apollo, a network error) is a failure too.
process.on("uncaughtException", (error) => fail(error.stack ?? String(error)));
process.on("unhandledRejection", (error) => fail(error?.stack ?? String(error)));
