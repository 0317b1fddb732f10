// The committed SDL passes the schema lint in eslint.config.mjs (graphql-eslint: Relay rules,
// descriptions, ids, naming). Every finding is a failure, one per line, with its rule.
import { dirname, relative, resolve } from "node:path";
import { ESLint } from "eslint";
import { args, fail, ok } from "./common.mjs";
import { schemaLintConfig } from "./eslint.config.mjs";

const [schemaArg] = args("SCHEMA_PATH");
const schemaPath = resolve(schemaArg);

// No config file lookup: only the config built here applies, with the schema's folder as the
// base path (a file outside the base path would be skipped as ignored, not linted).
const eslint = new ESLint({
  cwd: dirname(schemaPath),
  overrideConfigFile: true,
  overrideConfig: schemaLintConfig(schemaPath),
});

// The rules that really apply to this file, so a config that matched nothing cannot pass.
const config = await eslint.calculateConfigForFile(schemaPath);
const rules = Object.entries(config?.rules ?? {})
  .filter(([, setting]) => ![0, "off"].includes(Array.isArray(setting) ? setting[0] : setting))
  .map(([name]) => name)
  .sort();
if (rules.length === 0) fail(`no lint rule applies to ${schemaPath}`);

const results = await eslint.lintFiles([schemaPath]);
const findings = results.flatMap((result) =>
  result.messages.map(
    // A parse error or an ignored file has no ruleId: it is a finding too.
    (m) =>
      `${relative(dirname(schemaPath), result.filePath)}:${m.line ?? 0}:${m.column ?? 0} ` +
      `${m.ruleId ?? (m.fatal ? "fatal" : "eslint")}: ${m.message.replaceAll("\n", " ")}`,
  ),
);
if (findings.length > 0) fail(`${findings.length} finding(s)\n${findings.join("\n")}`);
if (results.length !== 1) fail(`expected 1 linted file, got ${results.length}`);
ok({ file: schemaPath, rules });
