/**
 * What HTTP cannot reach: DynamoDB throttling, outages and unexpected failures injected into the
 * SDK, the deadline taken from the Lambda context, and the number of DynamoDB calls each
 * operation makes.
 */
import { createServer, Server } from "net";
import { AddressInfo } from "net";
import { expect } from "chai";
import type { APIGatewayProxyResult } from "aws-lambda";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ANONYMOUS_OWNER } from "../../handlers/caller";
import type { Dependencies } from "../../handlers/dependencies";
import type { DynamoDbOptions } from "../../handlers/env";
import { createHandler, Operation } from "../../handlers/http";
import { createLogger } from "../../handlers/logger";
import {
  createItem,
  deleteItem,
  getItem,
  listItems,
  patchItem,
  replaceItem,
  requestHashOf,
} from "../../handlers/operations";
import type { Engine } from "../../local/engine";
import { startTestEngine, testDependencies } from "../support/handler-dependencies";
import { createEvent, itemEvent, lambdaContext, proxyEvent } from "../support/lambda";
import { countAttempts, failEveryAttempt, namedError, withoutRetryDelays } from "../support/sdk-faults";

const TABLES = { items: "faults-items", idempotency: "faults-idempotency" };

function dependencies(endpoint: string, dynamoDb: Omit<DynamoDbOptions, "endpoint"> = {}): Dependencies {
  return testDependencies(endpoint, TABLES, dynamoDb);
}

/** Counts logical DynamoDB calls (before retries) by command name. */
function countCalls(deps: Dependencies): string[] {
  const calls: string[] = [];
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: "initialize", name: "countCalls" },
  );
  return calls;
}

function parse(result: APIGatewayProxyResult) {
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: result.body === "" ? undefined : JSON.parse(result.body),
  };
}

/** Captures the handler's log lines (the test dependencies' logger writes nothing). */
function captureLog(deps: Dependencies): string[] {
  const lines: string[] = [];
  deps.log = createLogger("error", {}, (line) => lines.push(line));
  return lines;
}

/** The causes the "request failed" lines name: the SDK's errors behind a 5xx. */
function causesOf(lines: readonly string[]): string {
  return lines
    .map((line) => JSON.parse(line) as { error?: { cause?: { name?: string; message?: string } } })
    .map((entry) => `${entry.error?.cause?.name ?? ""}: ${entry.error?.cause?.message ?? ""}`)
    .join("\n");
}

async function invoke(
  operation: Operation,
  deps: Dependencies,
  event = createEvent({ name: "x" }),
  remainingMs = 10000,
) {
  return parse(await createHandler("test", operation, deps)(event, lambdaContext(remainingMs)));
}

describe("handlers under injected faults", function () {
  this.timeout(30000);
  let engine: Engine;

  before(async () => {
    engine = await startTestEngine(TABLES);
  });

  after(async () => {
    await engine.close();
  });

  for (const name of [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
  ]) {
    it(`retries ${name} a bounded number of times, then answers 503 with Retry-After`, async () => {
      const deps = dependencies(engine.endpoint, { maxAttempts: 3 });
      withoutRetryDelays(deps);
      const counter = failEveryAttempt(deps, () => namedError(name));
      const response = await invoke(createItem, deps);
      expect(response.status).to.equal(503);
      expect(response.headers["Retry-After"]).to.equal("1");
      expect(response.body.error.code).to.equal("unavailable");
      expect(response.body.error.message).to.equal("the item store is unavailable, retry later");
      expect(counter.attempts).to.equal(3);
    });
  }

  it("answers 503 when DynamoDB refuses connections, after its attempts, each refused (no timeout waited out)", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const deps = dependencies(`http://127.0.0.1:${closed}`, { maxAttempts: 2, requestTimeoutMs: 20000 });
    const counter = countAttempts(deps);
    const logged = captureLog(deps);
    const response = await invoke(getItem, deps, itemEvent("GET", "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"));
    expect(response.status).to.equal(503);
    expect(response.body.error.code).to.equal("unavailable");
    expect(counter.attempts).to.equal(2);
    const causes = causesOf(logged);
    expect(causes, causes).to.match(/ECONNREFUSED/);
  });

  describe("with a DynamoDB that accepts connections and never answers", () => {
    let silent: Server;
    let endpoint: string;
    let connections = 0;
    before(async () => {
      silent = createServer(() => (connections += 1));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
      endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });
    after(() => {
      silent.close();
    });

    it("ends each attempt at its own request timeout and answers 503 after the last", async () => {
      connections = 0;
      const deps = dependencies(endpoint, { maxAttempts: 2, requestTimeoutMs: 200 });
      const counter = countAttempts(deps);
      const logged = captureLog(deps);
      const response = await invoke(getItem, deps, itemEvent("GET", "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"));
      expect(response.status).to.equal(503);
      expect([counter.attempts, connections]).to.deep.equal([2, 2]);
      // The SDK's own account of why the last attempt ended: the 200 ms it was given.
      const causes = causesOf(logged);
      expect(causes, causes).to.contain("a request has exceeded the configured 200 ms requestTimeout");
    });

    it("answers 503 before the Lambda deadline, whatever the SDK timeouts", async () => {
      const deps = dependencies(endpoint, { maxAttempts: 3, requestTimeoutMs: 20000 });
      const counter = countAttempts(deps);
      const logged = captureLog(deps);
      const context = lambdaContext(1500);
      const response = parse(
        await createHandler("test", getItem, deps)(itemEvent("GET", "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"), context),
      );
      expect(response.status).to.equal(503);
      // Ended by the abort the handler derives from the context's deadline, in its first attempt
      // (the SDK's 20 s would have come much later), and answered while the context had time left.
      const causes = causesOf(logged);
      expect(causes, causes).to.match(/AbortError/);
      expect(counter.attempts).to.equal(1);
      expect(context.getRemainingTimeInMillis()).to.be.greaterThan(0);
    });
  });

  it("answers 500 internal_error without the cause for an unexpected failure", async () => {
    const deps = dependencies(engine.endpoint);
    failEveryAttempt(deps, () => namedError("ValidationException", "secret detail from the SDK"));
    const response = await invoke(createItem, deps);
    expect(response.status).to.equal(500);
    expect(response.body).to.deep.equal({
      error: { code: "internal_error", message: "internal error", requestId: response.body.error.requestId },
    });
    expect(JSON.stringify(response)).not.to.contain("secret detail");
  });

  it("answers 413 when DynamoDB refuses the item size", async () => {
    const deps = dependencies(engine.endpoint);
    failEveryAttempt(deps, () => namedError("ValidationException", "Item size has exceeded the maximum allowed size"));
    const response = await invoke(createItem, deps);
    expect(response.status).to.equal(413);
    expect(response.body.error.code).to.equal("payload_too_large");
  });

  it("answers 413 when patches grow an item past DynamoDB's 400 KB", async () => {
    const deps = dependencies(engine.endpoint);
    const created = await invoke(createItem, deps, createEvent({ name: "big" }));
    const id: string = created.body.id;
    const chunk = "x".repeat(60000);
    let last = created;
    for (let index = 0; index < 8 && last.status !== 413; index++) {
      last = await invoke(patchItem, deps, itemEvent("PATCH", id, { [`part${index}`]: chunk }));
    }
    expect(last.status).to.equal(413);
    expect(last.body.error.code).to.equal("payload_too_large");
    const stored = await invoke(getItem, deps, itemEvent("GET", id));
    expect(stored.status).to.equal(200);
    expect(Object.keys(stored.body).filter((key) => key.startsWith("part")).length).to.equal(6);
  });

  describe("DynamoDB round trips", () => {
    it("one call per single-item operation and per list page", async () => {
      const deps = dependencies(engine.endpoint);
      const calls = countCalls(deps);
      const created = await invoke(createItem, deps, createEvent({ name: "x", data: { a: 1 } }));
      const id: string = created.body.id;
      expect(calls.splice(0)).to.deep.equal(["PutItemCommand"]);
      await invoke(getItem, deps, itemEvent("GET", id));
      expect(calls.splice(0)).to.deep.equal(["GetItemCommand"]);
      await invoke(replaceItem, deps, itemEvent("PUT", id, { name: "y", data: { a: 1 } }, { "If-Match": '"1"' }));
      expect(calls.splice(0)).to.deep.equal(["UpdateItemCommand"]);
      await invoke(patchItem, deps, itemEvent("PATCH", id, { data: { b: 2 }, status: null }, { "If-Match": '"2"' }));
      expect(calls.splice(0)).to.deep.equal(["UpdateItemCommand"]);
      await invoke(
        listItems,
        deps,
        proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { limit: "5" } }),
      );
      expect(calls.splice(0)).to.deep.equal(["QueryCommand"]);
      await invoke(deleteItem, deps, itemEvent("DELETE", id, undefined, { "If-Match": '"3"' }));
      expect(calls.splice(0)).to.deep.equal(["DeleteItemCommand"]);
    });

    it("reads only on the failure path, and three calls for a keyed create", async () => {
      const deps = dependencies(engine.endpoint);
      const calls = countCalls(deps);
      const created = await invoke(
        createItem,
        deps,
        createEvent({ name: "x" }, { "Idempotency-Key": `k-${Date.now()}` }),
      );
      expect(created.status).to.equal(201);
      expect(calls.splice(0)).to.deep.equal(["UpdateItemCommand", "PutItemCommand", "UpdateItemCommand"]);
      const stale = await invoke(
        deleteItem,
        deps,
        itemEvent("DELETE", created.body.id, undefined, { "If-Match": '"5"' }),
      );
      expect(stale.status).to.equal(412);
      expect(calls.splice(0)).to.deep.equal(["DeleteItemCommand", "GetItemCommand"]);
      const missing = await invoke(deleteItem, deps, itemEvent("DELETE", "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"));
      expect(missing.status).to.equal(404);
      expect(calls.splice(0)).to.deep.equal(["DeleteItemCommand"]);
    });
  });

  describe("idempotent create when the item write fails", () => {
    /** Fails the first PutItem on the items table, after (`applied`) or instead of sending it. */
    function failFirstItemWrite(deps: Dependencies, applied: boolean): void {
      let failed = false;
      deps.doc.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { TableName?: string };
          const target = context.commandName === "PutItemCommand" && input.TableName === TABLES.items && !failed;
          if (target && !applied) {
            failed = true;
            throw namedError("TimeoutError", "socket timed out");
          }
          const output = await next(args);
          if (target) {
            failed = true;
            throw namedError("TimeoutError", "response lost");
          }
          return output;
        },
        { step: "initialize", name: "failFirstItemWrite" },
      );
    }

    for (const applied of [false, true]) {
      it(`answers 503, then lets a retry store exactly one item (write ${applied ? "applied" : "not applied"})`, async () => {
        const deps = dependencies(engine.endpoint, { maxAttempts: 1 });
        failFirstItemWrite(deps, applied);
        const key = `retry-${applied}-${Date.now()}`;
        const body = { name: `retried ${applied}` };
        const first = await invoke(createItem, deps, createEvent(body, { "Idempotency-Key": key }));
        expect(first.status).to.equal(503);
        const retry = await invoke(createItem, deps, createEvent(body, { "Idempotency-Key": key }));
        expect(retry.status).to.equal(201);
        const replay = await invoke(createItem, deps, createEvent(body, { "Idempotency-Key": key }));
        expect(replay.body).to.deep.equal(retry.body);
        const matching: unknown[] = [];
        let cursor: string | undefined;
        do {
          const query: Record<string, string> = { limit: "100", ...(cursor === undefined ? {} : { cursor }) };
          const page = await invoke(
            listItems,
            deps,
            proxyEvent({ method: "GET", path: "/items", resource: "/items", query }),
          );
          matching.push(...page.body.items.filter((item: { name: string }) => item.name === body.name));
          cursor = page.body.nextCursor;
        } while (cursor !== undefined);
        expect(matching).to.deep.equal([retry.body]);
      });
    }
  });

  describe("a claim taken over from a crashed create", () => {
    it("keeps the abandoned claim's item id through another failed takeover, so the key never holds two items", async () => {
      const deps = dependencies(engine.endpoint, { maxAttempts: 1 });
      const key = `crashed-${Date.now()}`;
      const body = { name: "crashed twice" };
      const now = new Date();
      const abandonedId = "0b6b7d53-3c5e-4d8e-9d55-000000000001";
      // What a create killed after its item write leaves: the item, and its claim in progress.
      const item = { owner: ANONYMOUS_OWNER, id: abandonedId, ...body, description: "", attrs: {}, version: 1 };
      const timestamps = { createdAt: now.toISOString(), updatedAt: now.toISOString() };
      await deps.doc.send(new PutCommand({ TableName: TABLES.items, Item: { ...item, ...timestamps } }));
      await deps.doc.send(
        new PutCommand({
          TableName: TABLES.idempotency,
          Item: {
            owner: ANONYMOUS_OWNER,
            id: key,
            requestHash: requestHashOf({ name: body.name, description: "", attrs: {} }),
            status: "in_progress",
            itemId: abandonedId,
            expiresAt: Math.floor(now.getTime() / 1000) + 3600,
            lockedUntil: now.getTime() - 1,
          },
        }),
      );
      // The first retry takes the claim over and fails before its item write reaches DynamoDB.
      let failed = false;
      failEveryAttempt(
        deps,
        () => namedError("TimeoutError", "socket timed out"),
        (command) => {
          const input = command.input as { TableName?: string };
          const fails = !failed && command.name === "PutItemCommand" && input.TableName === TABLES.items;
          failed ||= fails;
          return fails;
        },
      );
      expect((await invoke(createItem, deps, createEvent(body, { "Idempotency-Key": key }))).status).to.equal(503);
      // The next takes it over again: still the crashed create's id, so it finds that item.
      const resumed = await invoke(createItem, deps, createEvent(body, { "Idempotency-Key": key }));
      expect(resumed.status).to.equal(201);
      expect(resumed.body).to.include({ id: abandonedId, name: body.name, version: 1 });
      const other = await invoke(createItem, deps, createEvent({ name: "another" }, { "Idempotency-Key": key }));
      expect([other.status, other.body.error.code]).to.deep.equal([422, "idempotency_key_reused"]);
    });
  });

  describe("request log", () => {
    function capture(deps: Dependencies): Record<string, unknown>[] {
      const lines: Record<string, unknown>[] = [];
      deps.log = createLogger("info", {}, (line) => lines.push(JSON.parse(line)));
      return lines;
    }

    it("writes one JSON line per request with ids, status, latency and consumed capacity, never the body", async () => {
      const deps = dependencies(engine.endpoint);
      const lines = capture(deps);
      const event = createEvent({ name: "secret-name", password: "hunter2" }, { "x-correlation-id": "trace-123" });
      const result = await createHandler("createItem", createItem, deps)(event, lambdaContext());
      expect(result.headers?.["x-correlation-id"]).to.equal("trace-123");
      expect(lines).to.have.length(1);
      const [line] = lines;
      expect(Object.keys(line ?? {})).to.deep.equal([
        "timestamp",
        "level",
        "message",
        "operationId",
        "requestId",
        "correlationId",
        "method",
        "path",
        "status",
        "latencyMs",
        "consumedCapacityUnits",
      ]);
      expect(line).to.include({
        level: "INFO",
        message: "request",
        operationId: "createItem",
        requestId: event.requestContext.extendedRequestId,
        correlationId: "trace-123",
        method: "POST",
        path: "/items",
        status: 201,
        consumedCapacityUnits: 1,
      });
      expect(JSON.stringify(lines)).not.to.match(/secret-name|hunter2/);
    });

    it("uses the request id as correlation id when none, or an unusable one, is sent", async () => {
      const deps = dependencies(engine.endpoint);
      const lines = capture(deps);
      const variants: Record<string, string>[] = [{}, { "x-correlation-id": "bad id with spaces" }];
      for (const headers of variants) {
        const event = createEvent({ name: "x" }, headers);
        const result = await createHandler("createItem", createItem, deps)(event, lambdaContext());
        expect(result.headers?.["x-correlation-id"]).to.equal(event.requestContext.extendedRequestId);
      }
      expect(lines.map((line) => line.correlationId)).to.have.length(2);
    });

    it("logs 5xx failures with their cause for operators, at error level", async () => {
      const deps = dependencies(engine.endpoint);
      const lines = capture(deps);
      failEveryAttempt(deps, () => namedError("ValidationException", "detail for operators"));
      await createHandler("createItem", createItem, deps)(createEvent({ name: "x" }), lambdaContext());
      expect(lines.map((line) => [line.level, line.message])).to.deep.equal([
        ["ERROR", "request failed"],
        ["INFO", "request"],
      ]);
      expect(JSON.stringify(lines[0])).to.contain("detail for operators");
      expect(lines[1]).to.include({ status: 500, errorCode: "internal_error" });
    });
  });

  it("builds the Location from the stage the client called", async () => {
    const deps = dependencies(engine.endpoint);
    const created = await invoke(createItem, deps, createEvent({ name: "x" }));
    expect(created.headers.Location).to.equal(`https://api.example.com/test/items/${created.body.id}`);
  });
});
