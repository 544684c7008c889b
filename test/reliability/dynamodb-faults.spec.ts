/**
 * DynamoDB unreachable and DynamoDB throttling, end to end: the local runtime (in process) talks
 * to the embedded engine through a TCP proxy that can refuse connections, accept and never
 * answer, or answer every call with ThrottlingException.
 * - Unreachable: every operation answers 503 `unavailable` with Retry-After after exactly
 *   DYNAMODB_MAX_ATTEMPTS attempts of DYNAMODB_REQUEST_TIMEOUT_MS each (plus the SDK's backoff),
 *   never 500 or 504, and long before the function's deadline; once the proxy forwards again,
 *   full service at once.
 * - Throttled: exactly DYNAMODB_MAX_ATTEMPTS attempts reach "DynamoDB", then 503, never 500.
 */
import { expect } from "chai";
import { IDEMPOTENCY_TABLE, ITEMS_TABLE } from "../../infra/table-definitions";
import { Engine, engineClient, ensureTables, startEmbeddedEngine } from "../../local/engine";
import { LocalApi, startLocalApi } from "../../local/server";
import { apiUserHeaders } from "../support/users";
import { readStackSettings } from "../../local/stack-settings";
import { ApiResponse, Request, client } from "../support/http-client";
import { expectErrorEnvelope } from "../support/error-envelope";
import { DynamoDbProxy, ProxyMode, dynamoDbError, startDynamoDbProxy } from "../support/reliability-proxy";
import { StoreReader, storeReader } from "../support/reliability-store";

const TABLES = { items: "reliability-items", idempotency: "reliability-idempotency" };
const MAX_ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 300;
/** The SDK's backoff between attempts (standard mode): up to 50 ms x 2^retry, jittered. */
const MAX_TRANSIENT_BACKOFF_MS = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, retry) => 50 * 2 ** retry).reduce(
  (sum, delay) => sum + delay,
  0,
);
/** After a throttling error the SDK backs off longer: up to 1 s x 2^retry. */
const MAX_THROTTLING_BACKOFF_MS = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, retry) => 1000 * 2 ** retry).reduce(
  (sum, delay) => sum + delay,
  0,
);
/** HTTP, event loop and scheduling on a quiet 2-core machine. */
const SLACK_MS = 400;
/** What "within the configured timeout" means for an unreachable DynamoDB, on a quiet machine. */
const UNREACHABLE_BUDGET_MS = MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + MAX_TRANSIENT_BACKOFF_MS + SLACK_MS;
const THROTTLED_BUDGET_MS = MAX_THROTTLING_BACKOFF_MS + MAX_ATTEMPTS * 50 + SLACK_MS;
const LAMBDA_TIMEOUT_MS = 10000;
/**
 * What is asserted, loaded or not: the 503 comes from the SDK giving up after its attempts (the
 * attempts are counted exactly below), never from the function's deadline (its DynamoDB calls
 * are aborted 500 ms before it), so well under half the function's timeout. On a loaded machine
 * every attempt also waits for the event loop, and the quiet budgets above, printed beside the
 * figures, do not hold.
 */
const LATENCY_LIMIT_MS = LAMBDA_TIMEOUT_MS / 2;

function report(line: string): void {
  process.stdout.write(`      ${line}\n`);
}

function summary(latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return `min ${sorted[0]} ms, median ${median} ms, max ${sorted[sorted.length - 1]} ms over ${sorted.length} requests`;
}

describe("reliability: DynamoDB unreachable or throttling", function () {
  this.timeout(120000);
  let engine: Engine;
  let proxy: DynamoDbProxy;
  let api: LocalApi;
  let request: Request;
  let store: StoreReader;
  let existing: ApiResponse;
  /** Handler error log lines (503s are logged with their cause), kept off the test output. */
  const handlerErrors: Record<string, unknown>[] = [];
  const writeStdout = process.stdout.write.bind(process.stdout);

  before(async () => {
    engine = await startEmbeddedEngine(undefined);
    const setup = engineClient(engine.endpoint);
    await ensureTables(setup, [
      { definition: ITEMS_TABLE, name: TABLES.items },
      { definition: IDEMPOTENCY_TABLE, name: TABLES.idempotency },
    ]);
    setup.destroy();
    proxy = await startDynamoDbProxy(engine.endpoint);
    api = await startLocalApi({
      settings: readStackSettings("dev"),
      stack: "dev",
      dynamoDbEndpoint: proxy.endpoint,
      tableNames: TABLES,
      timeoutMs: LAMBDA_TIMEOUT_MS,
      environment: {
        DYNAMODB_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        DYNAMODB_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        LOG_LEVEL: "error",
      },
      accessLog: () => undefined,
    });
    request = client(api.url, await apiUserHeaders(api));
    // Read the engine directly, never through the proxy.
    store = storeReader(engine.endpoint, TABLES);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      if (text.startsWith('{"level":"error"')) {
        handlerErrors.push(JSON.parse(text));
        return true;
      }
      return writeStdout(chunk, ...rest);
    }) as typeof process.stdout.write;

    existing = await request("POST", "items", { json: { name: "before the outage", status: "kept", n: 1 } });
    expect(existing.status, existing.text).to.equal(201);
  });

  after(async () => {
    process.stdout.write = writeStdout;
    const causes = new Map<string, number>();
    for (const line of handlerErrors) {
      const error = line.error as { cause?: { name?: string } } | undefined;
      const name = error?.cause?.name ?? "unknown";
      causes.set(name, (causes.get(name) ?? 0) + 1);
    }
    report(
      `handler error log: ${handlerErrors.length} lines, causes ${[...causes.entries()].map(([n, c]) => `${n} x${c}`).join(", ")}`,
    );
    store?.destroy();
    await api?.close();
    await proxy?.close();
    await engine?.close();
  });

  /** One request of each kind, against the item created before the fault. */
  function operations(): { label: string; run: () => Promise<ApiResponse> }[] {
    const id: string = existing.json.id;
    return [
      { label: "createItem", run: () => request("POST", "items", { json: { name: "during the fault" } }) },
      {
        label: "createItem (Idempotency-Key)",
        run: () =>
          request("POST", "items", {
            json: { name: "keyed during the fault" },
            headers: { "Idempotency-Key": `fault-${Date.now()}-${Math.random()}` },
          }),
      },
      { label: "getItem", run: () => request("GET", `items/${id}`) },
      { label: "listItems", run: () => request("GET", "items?limit=5") },
      {
        label: "replaceItem",
        run: () => request("PUT", `items/${id}`, { json: { name: "replaced during the fault" } }),
      },
      {
        label: "patchItem",
        run: () => request("PATCH", `items/${id}`, { json: { status: null }, headers: { "If-Match": '"1"' } }),
      },
      { label: "deleteItem", run: () => request("DELETE", `items/${id}`) },
    ];
  }

  function expectUnavailable(response: ApiResponse, label: string): void {
    expect(response.status, `${label}: ${response.text}`).to.equal(503);
    expectErrorEnvelope(response);
    expect(response.json.error.code).to.equal("unavailable");
    expect(response.json.error.message).to.equal("the item store is unavailable, retry later");
    expect(response.headers.get("retry-after"), `${label}: Retry-After`).to.equal("1");
  }

  /** Full service: a new item can be created and read back, and the old one is intact. */
  async function expectFullService(label: string): Promise<void> {
    const created = await request("POST", "items", { json: { name: `after ${label}`, restored: true } });
    expect(created.status, `first request after ${label}: ${created.text}`).to.equal(201);
    const fetched = await request("GET", `items/${created.json.id}`);
    expect(fetched.status, fetched.text).to.equal(200);
    expect(fetched.json).to.deep.equal(created.json);
    const old = await request("GET", `items/${existing.json.id}`);
    expect(old.status, old.text).to.equal(200);
    expect(old.json).to.deep.equal(existing.json);
    const listed = await request("GET", "items?limit=100");
    expect(listed.status, listed.text).to.equal(200);
  }

  for (const mode of ["refuse", "blackhole"] as ProxyMode[]) {
    const description = mode === "refuse" ? "refused connections" : "connections accepted and never answered";
    it(`DynamoDB unreachable (${description}): 503 with Retry-After within the budget, then full service`, async () => {
      const before = await store.snapshot();
      await proxy.setMode(mode);
      const blackholedBefore = proxy.blackholed;
      const latencies: number[] = [];
      for (const operation of operations()) {
        const started = Date.now();
        const response = await operation.run();
        const latency = Date.now() - started;
        latencies.push(latency);
        expectUnavailable(response, operation.label);
        expect(latency, `${operation.label}: 503 latency`).to.be.below(LATENCY_LIMIT_MS);
        if (mode === "blackhole") {
          // The per-attempt timeout, not something quicker, is what ended the wait.
          expect(latency, `${operation.label}: 503 latency`).to.be.at.least(REQUEST_TIMEOUT_MS);
        }
      }
      const connections = proxy.blackholed - blackholedBefore;
      report(
        `DynamoDB ${mode === "refuse" ? "refusing connections" : "black-holed"}: 503 latency ${summary(latencies)} ` +
          `(quiet budget ${UNREACHABLE_BUDGET_MS} ms = ${MAX_ATTEMPTS} x ${REQUEST_TIMEOUT_MS} ms + backoff ` +
          `${MAX_TRANSIENT_BACKOFF_MS} ms + slack ${SLACK_MS} ms; limit ${LATENCY_LIMIT_MS} ms)` +
          (mode === "blackhole" ? `; ${connections} connections for ${latencies.length} requests` : ""),
      );
      if (mode === "blackhole") {
        // Bounded: every request tried exactly DYNAMODB_MAX_ATTEMPTS connections, then gave up.
        expect(connections).to.equal(MAX_ATTEMPTS * latencies.length);
      }
      // Nothing reached the engine while it was cut off.
      expect(await store.snapshot()).to.deep.equal(before);

      await proxy.setMode("forward");
      await expectFullService(mode);
    });
  }

  for (const errorType of ["ThrottlingException", "ProvisionedThroughputExceededException"]) {
    it(`DynamoDB throttling (${errorType}): ${MAX_ATTEMPTS} attempts, then 503, never 500`, async () => {
      const before = await store.snapshot();
      proxy.throttleWith = dynamoDbError(errorType, "Rate exceeded");
      await proxy.setMode("throttle");
      const latencies: number[] = [];
      const attempts: string[] = [];
      for (const operation of operations()) {
        proxy.throttled.length = 0;
        const started = Date.now();
        const response = await operation.run();
        const latency = Date.now() - started;
        latencies.push(latency);
        expectUnavailable(response, operation.label);
        expect(latency, `${operation.label}: 503 latency`).to.be.below(LATENCY_LIMIT_MS);
        // One DynamoDB call, tried exactly DYNAMODB_MAX_ATTEMPTS times, then given up.
        expect(proxy.throttled, operation.label).to.have.length(MAX_ATTEMPTS);
        expect(new Set(proxy.throttled).size, operation.label).to.equal(1);
        attempts.push(`${operation.label} ${proxy.throttled[0]} x${proxy.throttled.length}`);
      }
      report(
        `${errorType}: ${attempts.join(", ")}; 503 latency ${summary(latencies)} ` +
          `(quiet budget ${THROTTLED_BUDGET_MS} ms, limit ${LATENCY_LIMIT_MS} ms)`,
      );
      expect(await store.snapshot()).to.deep.equal(before);

      await proxy.setMode("forward");
      await expectFullService(errorType);
    });
  }
});
