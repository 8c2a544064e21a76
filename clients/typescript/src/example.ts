// What a third-party developer writes against the JJJ registry with a client generated
// from its OpenAPI description (openapi-typescript types + openapi-fetch). Compiled with
// `tsc --strict`; run against a live server: BASE_URL=http://127.0.0.1:8080 node dist/example.js
//
// Exits non-zero when an answer is not what the contract and the sample catalog say.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type ItemKind = components["schemas"]["ItemKind"];
type StatusQuestion = components["schemas"]["StatusQuestion"];
type Problem = components["schemas"]["ProblemDetails"];

const baseUrl = process.env.BASE_URL ?? "http://127.0.0.1:8080";
const api = createClient<paths>({ baseUrl });

function check(condition: boolean, message: string): asserts condition {
  if (!condition) {
    throw new Error(message);
  }
}

/** Is a Hebei Grade II constructor certificate recognised in Tianjin on 1 June 2025? */
async function askOneQuestion(): Promise<void> {
  const { data, error, response } = await api.GET("/api/v1/recognition-status", {
    params: { query: { item: "RI-CON-001", issued_in: "HE", used_in: "TJ", on: "2025-06-01" } },
  });
  check(error === undefined && data !== undefined, `status query failed: ${response.status}`);
  check(data.decision === "recognised", `expected recognised, got ${data.decision}`);
  check(data.recognised, "`recognised` must agree with `decision`");
  check(data.mode === "direct", `expected mode direct, got ${data.mode}`);
  check(data.accepting_department === "天津市住房和城乡建设委员会", `wrong department: ${data.accepting_department}`);
  check(response.headers.get("etag") !== null, "the answer carries an ETag");
  console.log(`RI-CON-001 HE→TJ on ${data.on}: ${data.decision} (${data.mode ?? "no mode"}), ask ${data.accepting_department ?? "?"}`);
}

/** Lists personal qualifications; `kind` only accepts the documented values. */
async function listByKind(): Promise<void> {
  const kind: ItemKind = "personal_qualification";
  const { data, error } = await api.GET("/api/v1/recognition-items", {
    params: { query: { kind, limit: 20 } },
  });
  check(error === undefined && data !== undefined, "list failed");
  check(data.items.length > 0, "the sample has personal qualifications");
  for (const item of data.items) {
    check(item.kind === kind, `${item.code} has kind ${item.kind}`);
    check(item.provenance.document_no.length > 0, `${item.code} has no provenance`);
  }
  console.log(`${data.items.length} personal qualifications; next page: ${data.next_cursor === null ? "none" : "yes"}`);
}

/** An unknown code is a 404 problem, read as the documented problem type. */
async function readAProblem(): Promise<void> {
  const { data, error, response } = await api.GET("/api/v1/recognition-items/{code}", {
    params: { path: { code: "RI-XXX-999" } },
  });
  check(data === undefined && error !== undefined, "an unknown code must not succeed");
  const problem: Problem = error;
  check(response.status === 404 && problem.status === 404, `expected 404, got ${response.status}`);
  check(problem.type === "urn:jjj-registry:problem:not-found", `unexpected problem type ${problem.type}`);
  check(response.headers.get("content-type") === "application/problem+json", "problems are problem+json");
  console.log(`RI-XXX-999: ${problem.status} ${problem.title}: ${problem.detail}`);
}

/** Many questions in one request; each result is an answer or a problem, told apart by `status`. */
async function askABatch(): Promise<void> {
  const questions: StatusQuestion[] = [
    { item: "RI-CON-001", issued_in: "HE", used_in: "TJ", on: "2025-06-01" },
    { item: "RI-XXX-999", issued_in: "HE", used_in: "TJ" },
  ];
  const { data, error } = await api.POST("/api/v1/recognition-status/batch", { body: { questions } });
  check(error === undefined && data !== undefined, "batch failed");
  check(data.results.length === questions.length, "one result per question");
  const [first, second] = data.results;
  check(first !== undefined && second !== undefined, "two results");
  for (const result of data.results) {
    if (result.status === 200) {
      console.log(`question ${result.index}: ${result.answer.item} ${result.answer.decision}`);
    } else {
      console.log(`question ${result.index}: ${result.status} ${result.problem.detail}`);
    }
  }
  check(first.status === 200 && first.answer.decision === "recognised", "question 0 is answered");
  check(second.status === 404 && second.problem.type === "urn:jjj-registry:problem:not-found", "question 1 is a 404 problem");
}

/**
 * Tianjin's editor changes Tianjin's side of an item: read it, send the change with
 * `If-Match` naming the version read, and see a second write on the old version refused.
 * Needs a Tianjin editor token in TOKEN (`jjj-registry token --region TJ --roles editor`).
 */
async function editTianjinsSide(token: string): Promise<void> {
  const path = { code: "RI-CON-002", region: "TJ" };
  const read = await api.GET("/api/v1/recognition-items/{code}/local-parts/{region}", { params: { path } });
  check(read.data !== undefined, `read failed: ${read.response.status}`);
  const etag = read.response.headers.get("etag");
  check(etag !== null, "a local part carries an ETag");
  const contact = `022-${String(Date.now() % 100000000).padStart(8, "0")}`;
  const headers = { Authorization: `Bearer ${token}` };
  const written = await api.PATCH("/api/v1/recognition-items/{code}/local-parts/{region}", {
    params: { path, header: { "If-Match": etag } },
    headers,
    body: { contact },
  });
  check(written.data !== undefined, `edit failed: ${written.response.status} ${JSON.stringify(written.error)}`);
  check(written.data.contact === contact, "the new contact is returned");
  check(written.data.version === read.data.version + 1, "the version moved on by one");
  check(written.data.accepting_department === read.data.accepting_department, "other fields stay");
  const stale = await api.PATCH("/api/v1/recognition-items/{code}/local-parts/{region}", {
    params: { path, header: { "If-Match": etag } },
    headers,
    body: { contact: "022-00000000" },
  });
  check(stale.error !== undefined && stale.response.status === 412, `a stale write must be 412, got ${stale.response.status}`);
  check(stale.error.type === "urn:jjj-registry:problem:precondition-failed", `unexpected problem ${stale.error.type}`);
  console.log(`RI-CON-002 TJ: contact now ${written.data.contact} (version ${written.data.version}); the stale write got ${stale.response.status}`);
}

async function main(): Promise<void> {
  await askOneQuestion();
  await listByKind();
  await readAProblem();
  await askABatch();
  const token = process.env.TOKEN;
  if (token !== undefined && token !== "") {
    await editTianjinsSide(token);
  } else {
    console.log("TOKEN not set: the edit is not tried");
  }
  console.log("typescript client: all checks passed");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
