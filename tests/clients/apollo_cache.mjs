// Apollo Client against a live server: after SubmitAttempt, the course page read from the
// normalized cache alone shows the new numbers (the payload carries every changed node), and
// equals what the server answers for the page right after, so no field in the cache is stale.
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { loadDevMessages, loadErrorMessages } from "@apollo/client/dev/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { args, fail, ok } from "./common.mjs";

// Apollo's warnings (e.g. progress objects replaced without an id) as text, not as a link.
loadDevMessages();
loadErrorMessages();

const [url, token, courseId] = args("URL", "TOKEN", "COURSE_ID");
// The documented operations themselves, so this checks what the docs tell clients to send.
const examples = new URL("../../docs/examples/", import.meta.url);
const example = (file) => gql(readFileSync(new URL(file, examples), "utf8"));
const COURSE_PAGE = example("course_page.graphql");
const SUBMIT_ATTEMPT = example("submit_attempt.graphql");

// Every request the client sends, to check below that persisted queries were really used
// (the link falls back to full queries silently when a server does not support them).
const sent = [];
async function recordingFetch(input, init) {
  const body = init?.body ? JSON.parse(init.body) : null;
  const query = body ? body.query : new URL(input).searchParams.get("query");
  sent.push({ method: init?.method ?? "GET", hashOnly: !query });
  return fetch(input, init);
}

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: createPersistedQueryLink({
    sha256: (query) => createHash("sha256").update(query).digest("hex"),
    useGETForHashedQueries: true,
  }).concat(
    new HttpLink({
      uri: url,
      headers: { Authorization: `Bearer ${token}` },
      fetch: recordingFetch,
    }),
  ),
});

const variables = { id: courseId };
const before = (await client.query({ query: COURSE_PAGE, variables })).data.course;
if (!before) fail(`course ${courseId} not found`);

// Where each task sits in the tree, so the numbers of its theme and section can be compared.
const places = before.sections.flatMap((section) =>
  section.themes.flatMap((theme) => theme.tasks.map((task) => ({ section, theme, task }))),
);
// A code task: the client grades it, so `solved: true` counts (the server grades the demo
// course's other tasks from an answer, and this client holds no answer key).
const target = places.find(({ task }) => task.type === "CODE" && task.state?.status !== "SOLVED");
if (!target) fail(`every code task of course ${courseId} is already SOLVED`);
const taskId = target.task.id;

const input = {
  id: randomUUID(),
  taskId,
  tries: 1,
  timeSpentMs: 1000,
  solved: true,
  occurredAt: new Date().toISOString(),
  source: "WEB",
};
const submitted = await client.mutate({ mutation: SUBMIT_ATTEMPT, variables: { input } });
const payload = submitted.data.submitAttempt;
if (payload.__typename !== "SubmitAttemptSuccess") {
  fail(`submitAttempt answered ${JSON.stringify(payload)}`);
}

// cache-only: no request. Apollo may hand back a partial page here, so ask the cache itself
// whether every selected field is present, and which ones are missing if not.
const cached = await client.query({ query: COURSE_PAGE, variables, fetchPolicy: "cache-only" });
const diff = client.cache.diff({ query: COURSE_PAGE, variables, returnPartialData: true });
if (!diff.complete || !cached.data?.course) {
  const missing = diff.missing?.map((m) => m.message).join("; ");
  fail(`the cache cannot answer the course page after the mutation: ${missing}`);
}
const after = cached.data.course;

const find = (list, id, what) =>
  list.find((node) => node.id === id) ?? fail(`${what} ${id} is gone from the cache`);
const section = find(after.sections, target.section.id, "section");
const theme = find(section.themes, target.theme.id, "theme");
const task = find(theme.tasks, taskId, "task");

const problems = [];
function expect(what, actual, expected) {
  if (actual !== expected) {
    problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}
const solved = (node) => node.progress?.solvedTasks;
const attempts = (node) => node.progress?.attemptsCount;
expect(`task ${taskId} state.status`, task.state?.status, "SOLVED");
expect(`theme ${theme.id} progress.solvedTasks`, solved(theme), solved(target.theme) + 1);
expect(`section ${section.id} progress.solvedTasks`, solved(section), solved(target.section) + 1);
expect("course progress.solvedTasks", solved(after), solved(before) + 1);
expect("course progress.attemptsCount", attempts(after), attempts(before) + 1);
if (problems.length > 0) fail(`cache-only read after SubmitAttempt:\n${problems.join("\n")}`);

// The server's own answer now must equal what the cache showed: anything else is a field the
// mutation payload left stale.
const fresh = await client.query({ query: COURSE_PAGE, variables, fetchPolicy: "network-only" });
if (!isDeepStrictEqual(fresh.data, cached.data)) {
  const stale = differences(cached.data, fresh.data).join("\n");
  fail(`the cache-only read after SubmitAttempt differs from the network:\n${stale}`);
}

// The last request was the page again, by hash alone: the server kept the persisted query.
if (!sent.at(-1).hashOnly) fail(`persisted queries were not used: ${JSON.stringify(sent)}`);

ok({ taskId, courseSolved: solved(after), requests: sent });

// "path: cache → network" for each leaf where the two reads differ; list items are named by
// their id (sections[U2Vj...]) so the stale node can be looked up.
function differences(cache, network, path = "data") {
  if (isDeepStrictEqual(cache, network)) return [];
  if (cache && network && typeof cache === "object" && typeof network === "object") {
    const keys = new Set([...Object.keys(cache), ...Object.keys(network)]);
    return [...keys].flatMap((key) => {
      const step = Array.isArray(cache) ? `[${cache[key]?.id ?? key}]` : `.${key}`;
      return differences(cache[key], network[key], `${path}${step}`);
    });
  }
  return [`${path}: ${JSON.stringify(cache)} (cache) → ${JSON.stringify(network)} (network)`];
}
