/**
 * Property-based fuzzing of the local runtime (in process, embedded engine, loopback only):
 * bodies, headers (Content-Type, If-Match, If-None-Match, Idempotency-Key, x-correlation-id),
 * paths and query strings (limit, cursor). After every request:
 * - no 5xx;
 * - every error (4xx, and any 5xx) is the error envelope, its requestId equal to x-amz-apigw-id;
 * - a rejected (4xx) request, and any GET, OPTIONS or TRACE, left both tables byte-for-byte unchanged
 *   (a full consistent Scan before and after each request);
 * - every API response carries x-amz-apigw-id; x-correlation-id, when the handler answered, echoes a
 *   usable one or falls back to the request id.
 *
 * The seed is fixed (reproducible runs) and printed; RELIABILITY_SEED=<n> or =random explores others.
 * Violations are collected over the whole run, so the 5xx count is a count, and each property
 * fails with its violations and the first requests exactly as sent (method, target, headers, body).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import * as fc from "fast-check";
import { ANONYMOUS_OWNER } from "../../handlers/caller";
import { apiUserHeaders } from "../support/users";
import { encodeCursor } from "../../handlers/cursor";
import { LocalApi, startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import {
  BodyChoice,
  CursorChoice,
  HeaderChoices,
  IdChoice,
  PathChoice,
  QueryParameter,
  TagChoice,
  bodyChoice,
  encodeSegment,
  headerChoices,
  idChoice,
  pathChoice,
  plausibleHeaders,
  queryChoice,
  validBodyText,
} from "../support/reliability-arbitraries";
import { expectErrorEnvelope, headerValue } from "../support/error-envelope";
import { RawClient, RawRequest, RawResponse, rawClient } from "../support/reliability-http";
import { StoreReader, StoreSnapshot, describeChange, storeReader } from "../support/reliability-store";

const FIXED_SEED = 20260415;
const SEED = seedFromEnvironment(process.env.RELIABILITY_SEED);
/** Runs per property; together "a few thousand" requests, each followed by two table scans. */
const RUNS = { writes: 1600, reads: 500, paths: 500, lists: 500 };
/** Bounds each property in time on a slow machine; the count printed says how many ran. */
const TIME_LIMIT_MS = { writes: 60000, reads: 20000, paths: 20000, lists: 20000 };
/** A request the server never issues: its id fits no stored item. */
const ABSENT_ID = "00000000-0000-4000-8000-000000000000";
const MIN_LIVE_ITEMS = 3;
const CORRELATION_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
/** Methods that never change stored data, whatever they answer. */
const SAFE_METHODS = ["GET", "OPTIONS", "TRACE"];

function seedFromEnvironment(raw: string | undefined): number {
  if (raw === undefined || raw === "") {
    return FIXED_SEED;
  }
  if (raw === "random") {
    return Date.now() % 2147483647;
  }
  const seed = Number(raw);
  if (!Number.isInteger(seed)) {
    throw new Error(`RELIABILITY_SEED must be an integer or "random", got "${raw}"`);
  }
  return seed;
}

interface Live {
  ids: string[];
  versions: Map<string, number>;
}

function liveItems(snapshot: StoreSnapshot): Live {
  const versions = new Map<string, number>();
  for (const line of snapshot.items) {
    const record: unknown = JSON.parse(line);
    if (typeof record === "object" && record !== null && "id" in record && "version" in record) {
      // Numbers are kept exact in snapshots: lib-dynamodb's NumberValue, `{"value":"3"}`.
      const version: unknown = record.version;
      const digits = typeof version === "object" && version !== null && "value" in version ? version.value : undefined;
      expect(digits, line).to.be.a("string");
      versions.set(String(record.id), Number(digits));
    }
  }
  return { ids: [...versions.keys()], versions };
}

interface Violation {
  property: string;
  invariant: string;
  message: string;
  request: RawRequest;
  response: RawResponse;
}

const violations: Violation[] = [];
const figures = {
  requests: 0,
  serverErrors: 0,
  rejected: 0,
  rejectedUnchanged: 0,
  statuses: new Map<number, number>(),
};

describe("reliability: fuzzed requests against the local runtime", function () {
  this.timeout(240000);
  let api: LocalApi;
  let http: RawClient;
  let store: StoreReader;
  let snapshot: StoreSnapshot;
  let live: Live;
  let secret: string;
  let owner: string;

  before(async () => {
    // As a signed-in user of the dev stack, as deployed: every request reaches the functions.
    api = await startLocalApi({ settings: readStackSettings("dev"), stack: "dev", accessLog: () => undefined });
    http = rawClient(api.url, await apiUserHeaders(api));
    owner = api.issuer?.subOf("alice") ?? ANONYMOUS_OWNER;
    store = storeReader(api.dynamoDbEndpoint, api.tableNames);
    secret = api.environment.CURSOR_SECRET ?? "";
    expect(secret).not.to.equal("");
    process.stdout.write(`      fuzz seed ${SEED} (RELIABILITY_SEED=${SEED} reproduces this run)\n`);
    await refresh();
  });

  after(async () => {
    const statuses = [...figures.statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`);
    process.stdout.write(
      `      fuzz: ${figures.requests} requests, ${figures.serverErrors} 5xx, ${figures.rejected} rejected (4xx), ` +
        `${figures.rejectedUnchanged} of them verified to leave data unchanged, ${violations.length} violation(s); ` +
        `statuses ${statuses.join(" ")}\n`,
    );
    http?.close();
    store?.destroy();
    await api?.close();
  });

  async function refresh(): Promise<void> {
    snapshot = await store.snapshot();
    live = liveItems(snapshot);
    while (live.ids.length < MIN_LIVE_ITEMS) {
      const seeded = await http.send({
        method: "POST",
        target: "/items",
        headers: [["Content-Type", "application/json"]],
        body: Buffer.from(
          JSON.stringify({
            name: "seed",
            status: "new",
            data: { value: 1, nested: { list: [1, 2] } },
            tags: ["a"],
            a: 1,
          }),
        ),
      });
      expect(seeded.status, seeded.text).to.equal(201);
      snapshot = await store.snapshot();
      live = liveItems(snapshot);
    }
  }

  // --- resolving symbolic choices against what is stored now -------------------------------

  function existingId(pick: number): string {
    return live.ids[pick % live.ids.length] ?? ABSENT_ID;
  }

  function idSegment(choice: IdChoice): { segment: string; id: string | undefined } {
    switch (choice.kind) {
      case "existing":
        return { segment: existingId(choice.pick), id: existingId(choice.pick) };
      case "variant": {
        const id = existingId(choice.pick);
        if (choice.variant === "upper") {
          return { segment: id.toUpperCase(), id: undefined };
        }
        if (choice.variant === "encoded") {
          // Percent-encoding every character still names the same item.
          return { segment: [...id].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join(""), id };
        }
        return { segment: `${id}x`, id: undefined };
      }
      case "literal":
        return { segment: choice.segment, id: undefined };
    }
  }

  function tagValue(choice: TagChoice, id: string | undefined): string {
    const version = (id === undefined ? undefined : live.versions.get(id)) ?? 1;
    switch (choice.kind) {
      case "current":
        return `"${version}"`;
      case "stale":
        return `"${version - 1}"`;
      case "ahead":
        return `"${version + 1}"`;
      case "weak-current":
        return `W/"${version}"`;
      case "list-with-current":
        return `"0", "${version}"`;
      case "literal":
        return choice.value;
    }
  }

  function cursorValue(choice: CursorChoice): string {
    if (choice.kind === "literal") {
      return choice.value;
    }
    // The API only ever signs ids it stored; an item deleted since is a cursor it did issue.
    const issuedId =
      choice.id.kind === "literal" && /^[0-9a-f-]{36}$/.test(choice.id.segment)
        ? choice.id.segment
        : existingId(choice.id.kind === "literal" ? 0 : choice.id.pick);
    const cursor = encodeCursor(secret, owner, issuedId);
    if (choice.kind === "issued") {
      return cursor;
    }
    const position = choice.position % cursor.length;
    return cursor.slice(0, position) + choice.replacement + cursor.slice(position + 1);
  }

  function pathOf(choice: PathChoice): { path: string; id: string | undefined } {
    if (choice.kind === "items") {
      return { path: "/items", id: undefined };
    }
    if (choice.kind === "raw") {
      return { path: choice.path, id: undefined };
    }
    const { segment, id } = idSegment(choice.id);
    return { path: `/items/${segment}${choice.suffix}`, id: choice.suffix === "" ? id : undefined };
  }

  function queryOf(parameters: QueryParameter[]): string {
    if (parameters.length === 0) {
      return "";
    }
    const pairs = parameters.map((p) => `${p.name}=${p.kind === "limit" ? p.value : cursorValue(p.cursor)}`);
    return `?${pairs.join("&")}`;
  }

  const NAMES: Record<string, [string, string, string]> = {
    contentType: ["Content-Type", "content-type", "CONTENT-TYPE"],
    ifMatch: ["If-Match", "if-match", "IF-MATCH"],
    ifNoneMatch: ["If-None-Match", "if-none-match", "IF-NONE-MATCH"],
    idempotencyKey: ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"],
    correlationId: ["X-Correlation-Id", "x-correlation-id", "X-CORRELATION-ID"],
  };

  function headersOf(choices: HeaderChoices, id: string | undefined): [string, string][] {
    const name = (key: string) => NAMES[key]?.[choices.casing] ?? key;
    return [
      ...(choices.contentType === undefined ? [] : [[name("contentType"), choices.contentType] as [string, string]]),
      ...choices.ifMatch.map((tag): [string, string] => [name("ifMatch"), tagValue(tag, id)]),
      ...choices.ifNoneMatch.map((tag): [string, string] => [name("ifNoneMatch"), tagValue(tag, id)]),
      ...(choices.idempotencyKey === undefined
        ? []
        : [[name("idempotencyKey"), choices.idempotencyKey] as [string, string]]),
      ...choices.correlationId.map((value): [string, string] => [name("correlationId"), value]),
      ...choices.extra,
    ];
  }

  function bodyOf(body: BodyChoice): Buffer | undefined {
    return body === undefined ? undefined : typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  }

  // --- one request and its invariants --------------------------------------------------------

  function describeRequest(request: RawRequest): string {
    const body = request.body === undefined ? "(none)" : JSON.stringify(request.body.toString("utf8").slice(0, 300));
    const headers = request.headers.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("; ");
    return `${request.method} ${request.target}\n  headers: ${headers}\n  body (${request.body?.length ?? 0} bytes): ${body}`;
  }

  /**
   * Sends one request and checks every invariant on it. A violation is recorded, not thrown:
   * the property runs to its end, so the figures count every 5xx and every other violation
   * among all requests fuzzed, and each is reported with the request exactly as sent.
   */
  async function exchange(property: string, request: RawRequest): Promise<void> {
    if (live.ids.length < MIN_LIVE_ITEMS) {
      await refresh();
    }
    const before = snapshot;
    figures.requests += 1;
    const response = await http.send(request);
    figures.statuses.set(response.status, (figures.statuses.get(response.status) ?? 0) + 1);
    const after = await store.snapshot();
    snapshot = after;
    live = liveItems(after);

    const verify = (invariant: string, assertion: () => void) => {
      try {
        assertion();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        violations.push({ property, invariant, message, request, response });
      }
    };
    if (response.status >= 500) {
      figures.serverErrors += 1;
    }
    verify("no 5xx", () => expect(response.status).to.be.below(500));
    const rejected = response.status >= 400 && response.status < 500;
    if (rejected) {
      figures.rejected += 1;
    }
    if (response.status >= 400) {
      verify("error envelope", () => expectErrorEnvelope(response));
    }
    const path = request.target.split("?")[0] ?? "";
    const localPage = request.method === "GET" && response.status === 200 && /^\/(openapi\.json|docs)(\/|$)/.test(path);
    if (!localPage) {
      // Every API response carries API Gateway's request id (x-amz-apigw-id), its own answers
      // included; the functions' answers also carry it as x-request-id (the local /docs pages
      // are not the API, and carry x-request-id alone).
      verify("x-amz-apigw-id", () =>
        expect(headerValue(response.headers, "x-amz-apigw-id")).to.be.a("string").and.match(/^\S+$/),
      );
    }
    if (response.status >= 400 || SAFE_METHODS.includes(request.method)) {
      const change = describeChange(before, after);
      verify("stored data unchanged", () => expect(change, change).to.equal(""));
      if (rejected && change === "") {
        figures.rejectedUnchanged += 1;
      }
    }
    const echoed = headerValue(response.headers, "x-correlation-id");
    if (echoed !== undefined) {
      const offered = request.headers
        .filter(([key]) => key.toLowerCase() === "x-correlation-id")
        // HTTP strips only spaces and tabs around a field value (String.trim would also strip U+00A0).
        .map(([, value]) => value.replace(/^[ \t]+|[ \t]+$/g, ""))
        .pop();
      const expected =
        offered !== undefined && CORRELATION_ID_PATTERN.test(offered)
          ? offered
          : headerValue(response.headers, "x-amz-apigw-id");
      verify("x-correlation-id echo", () => expect(echoed).to.equal(expected));
    }
  }

  /** Fails the test with the violations of `property`: counts, and the first requests exactly as sent. */
  function expectNoViolations(property: string): void {
    const found = violations.filter((violation) => violation.property === property);
    const byInvariant = new Map<string, number>();
    for (const violation of found) {
      byInvariant.set(violation.invariant, (byInvariant.get(violation.invariant) ?? 0) + 1);
    }
    const counts = [...byInvariant.entries()].map(([invariant, count]) => `${invariant}: ${count}`).join(", ");
    const shown = found
      .filter((violation, index) => found.findIndex((other) => other.request === violation.request) === index)
      .slice(0, 3)
      .map(
        (v) =>
          `[${v.invariant}] ${v.message}\n  ${describeRequest(v.request)}\n` +
          `  -> ${v.response.status} ${JSON.stringify(v.response.headers)}\n     ${v.response.text.slice(0, 300)}`,
      );
    const report = `${found.length} violation(s) (${counts}; seed ${SEED}); first requests:\n${shown.join("\n")}`;
    expect(found.length, report).to.equal(0);
  }

  /** Percent-encodes what a request line cannot carry (spaces, non-ASCII); leaves all else as generated. */
  function requestTarget(target: string): string {
    return target.replace(/[^\x21-\x7e]/gu, (character) => encodeSegment(character));
  }

  /** Runs one property: `RUNS[name]` generated requests (or fewer if its time limit strikes first). */
  async function check<T>(
    name: keyof typeof RUNS,
    offset: number,
    arbitrary: fc.Arbitrary<T>,
    toRequest: (value: T) => RawRequest,
  ): Promise<void> {
    const sent = figures.requests;
    let running: Promise<void> = Promise.resolve();
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        const request = toRequest(value);
        running = exchange(name, { ...request, target: requestTarget(request.target) });
        await running;
      }),
      {
        seed: SEED + offset,
        numRuns: RUNS[name],
        interruptAfterTimeLimit: TIME_LIMIT_MS[name],
        markInterruptAsFailure: false,
      },
    );
    // When the time limit strikes, fast-check stops waiting for the run in flight (it races the
    // run against a timer) and returns: that request would land during the next property, as a
    // change no request of it made. Let it finish, and be verified, first.
    await running;
    process.stdout.write(`      ${name}: ${figures.requests - sent} requests\n`);
    expectNoViolations(name);
  }

  it("harness: a one-character change behind the API's back shows in the snapshots", async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: api.dynamoDbEndpoint }));
    try {
      const before = await store.snapshot();
      const [original] = await store.items();
      expect(original).to.be.an("object");
      const record = original as Record<string, unknown>;
      await doc.send(new PutCommand({ TableName: api.tableNames.items, Item: { ...record, name: `${record.name}!` } }));
      const changed = await store.snapshot();
      expect(describeChange(before, changed)).to.contain(String(record.id));
      await doc.send(new PutCommand({ TableName: api.tableNames.items, Item: record }));
      expect(describeChange(before, await store.snapshot())).to.equal("");
    } finally {
      doc.destroy();
    }
  });

  it("writes: fuzzed bodies and headers on create, replace and patch", async () => {
    const writes = fc.record({
      method: fc.constantFrom("POST", "PUT", "PATCH", "PATCH"),
      item: idChoice,
      // Half hostile, half plausible: the plausible half gets past validation and writes.
      input: fc.oneof(
        fc.record({ body: bodyChoice, headers: headerChoices }),
        fc.record({ body: validBodyText, headers: plausibleHeaders }),
      ),
    });
    await check("writes", 0, writes, ({ method, item, input: { body, headers } }) => {
      const target =
        method === "POST" ? { path: "/items", id: undefined } : pathOf({ kind: "item", id: item, suffix: "" });
      return { method, target: target.path, headers: headersOf(headers, target.id), body: bodyOf(body) };
    });
  });

  it("reads and deletes: fuzzed conditional headers and ids", async () => {
    const reads = fc.record({
      method: fc.constantFrom("GET", "GET", "DELETE", "OPTIONS"),
      item: idChoice,
      headers: headerChoices,
    });
    await check("reads", 1, reads, ({ method, item, headers }) => {
      const target = pathOf({ kind: "item", id: item, suffix: "" });
      return { method, target: target.path, headers: headersOf(headers, target.id) };
    });
  });

  it("paths: fuzzed request targets and methods", async () => {
    const paths = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"),
      path: pathChoice,
      query: queryChoice,
      body: fc.option(bodyChoice, { nil: undefined, freq: 2 }),
      headers: headerChoices,
    });
    await check("paths", 2, paths, ({ method, path, query, body, headers }) => {
      const target = pathOf(path);
      return {
        method,
        target: target.path + queryOf(query),
        headers: headersOf(headers, target.id),
        body: bodyOf(body),
      };
    });
  });

  it("lists: fuzzed limit and cursor", async () => {
    const lists = fc.record({ query: queryChoice, headers: headerChoices });
    await check("lists", 3, lists, ({ query, headers }) => ({
      method: "GET",
      target: `/items${queryOf(query)}`,
      headers: headersOf(headers, undefined),
    }));
  });

  // Found by the paths property: a request target that starts with "//" is read by the local
  // runtime as a scheme-relative URL (authority, then path). Kept as plain examples so the
  // failure reads at a glance; the property above reports the same requests.
  for (const target of ["//", "//>x", "//items"]) {
    it(`answers the request target ${target} in the error envelope, not with a 5xx`, async () => {
      const response = await http.send({ method: "GET", target, headers: [] });
      expect(response.status, `${target} -> ${response.status} ${response.text}`).to.be.below(500);
      expectErrorEnvelope(response);
    });
  }
});
