/**
 * Writes through a TCP proxy in front of the engine, which counts DynamoDB calls and can hold an
 * answer back:
 * - a write's answer is the truth when the SDK retries it: DynamoDB applies an attempt, its
 *   answer is lost, the SDK's per-attempt timeout fires, and the retry meets the state the first
 *   attempt wrote. Every write must then answer as if the first attempt had been answered, and
 *   apply once;
 * - the DynamoDB calls each kind of PATCH costs (README, "One DynamoDB round trip").
 *
 * Runs on the embedded engine, which returns no image on a failed condition (the handlers read
 * the item), or on the endpoint in CONTRACT_DYNAMODB_ENDPOINT (`npm run test:dynamodb-local`:
 * DynamoDB Local, which returns the image).
 */
import { randomUUID } from "crypto";
import { expect } from "chai";
import type { APIGatewayProxyResult } from "aws-lambda";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { Dependencies } from "../../handlers/dependencies";
import { Operation, createHandler } from "../../handlers/http";
import { createItem, deleteItem, getItem, patchItem, replaceItem } from "../../handlers/operations";
import { Engine, ensureApiTables, startEmbeddedEngine } from "../../local/engine";
import { testDependencies } from "../support/handler-dependencies";
import { createEvent, itemEvent, lambdaContext, proxyEvent } from "../support/lambda";
import { DynamoDbProxy, DynamoDbRequest, HeldAnswer, startDynamoDbProxy } from "../support/reliability-proxy";

const externalEndpoint = process.env.CONTRACT_DYNAMODB_ENDPOINT;
const suffix = randomUUID().slice(0, 8);
const TABLES = { items: `retries-${suffix}-items`, idempotency: `retries-${suffix}-idempotency` };
/** Short, so a held answer costs little; three attempts, as deployed. */
const REQUEST_TIMEOUT_MS = 250;

function dependencies(endpoint: string, requestTimeoutMs = REQUEST_TIMEOUT_MS): Dependencies {
  return testDependencies(endpoint, TABLES, { maxAttempts: 3, requestTimeoutMs });
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
  body: any;
}

function parse(result: APIGatewayProxyResult): Answer {
  return {
    status: result.statusCode,
    headers: result.headers ?? {},
    body: result.body === "" ? undefined : JSON.parse(result.body),
  };
}

const isItemsWrite = (operation: string) => (request: DynamoDbRequest) =>
  request.operation === operation && request.input.TableName === TABLES.items;

describe(`handlers: writes retried after DynamoDB applied them, and PATCH round trips (${externalEndpoint ?? "embedded engine"})`, function () {
  this.timeout(30000);
  let engine: Engine | undefined;
  let proxy: DynamoDbProxy;
  let deps: Dependencies;

  before(async () => {
    engine = externalEndpoint === undefined ? await startEmbeddedEngine(undefined) : undefined;
    const endpoint = externalEndpoint ?? engine?.endpoint ?? "";
    await ensureApiTables(endpoint, TABLES);
    proxy = await startDynamoDbProxy(endpoint);
    deps = dependencies(proxy.endpoint);
  });

  after(async () => {
    deps?.doc.destroy();
    await proxy?.close();
    await engine?.close();
  });

  async function invoke(operation: Operation, event: ReturnType<typeof proxyEvent>, using = deps): Promise<Answer> {
    return parse(await createHandler("test", operation, using)(event, lambdaContext()));
  }

  /**
   * Runs `run` with the answer to the request `select` picks held back. Checks that DynamoDB
   * applied that request and that the SDK sent it again (the retry), so every test below is
   * about a retry that met its own applied write. Where the item still exists after the write,
   * DynamoDB (Local) returns it with the failed condition, and the failure path reads nothing;
   * the embedded engine returns no image, and the handler reads the item once.
   */
  async function withLostAnswer(
    select: (request: DynamoDbRequest) => boolean,
    run: () => Promise<Answer>,
    itemRemains = true,
  ): Promise<Answer> {
    let held: HeldAnswer | undefined;
    const hold = proxy.holdAnswer(select);
    void hold.answered.then((answer) => (held = answer));
    const sentBefore = proxy.forwarded.length;
    const response = await run();
    hold.cancel();
    expect(held, "the held request was never sent").not.to.equal(undefined);
    expect(held?.statusLine).to.equal("HTTP/1.1 200 OK");
    const sent = proxy.forwarded.slice(sentBefore);
    const heldInput = JSON.stringify(held?.request.input);
    const first = sent.findIndex((request) => JSON.stringify(request.input) === heldInput);
    const afterHeld = sent.slice(first + 1);
    const retries = afterHeld.filter((request) => JSON.stringify(request.input) === heldInput);
    expect(retries.length, "the SDK retried the held request").to.be.at.least(1);
    const reads = afterHeld.filter((request) => request.operation === "GetItem");
    if (itemRemains) {
      expect(reads.length, "reads after the failed condition").to.equal(externalEndpoint === undefined ? 1 : 0);
    }
    return response;
  }

  async function created(body: Record<string, unknown>): Promise<Answer> {
    const response = await invoke(createItem, createEvent(body));
    expect(response.status).to.equal(201);
    return response;
  }

  async function stored(id: string): Promise<Answer> {
    return invoke(getItem, itemEvent("GET", id));
  }

  async function storedNamed(name: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await deps.doc.send(
        new ScanCommand({ TableName: TABLES.items, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []).filter((item) => item.name === name));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  for (const ifMatch of [undefined, '"1"']) {
    const headers: Record<string, string> = ifMatch === undefined ? {} : { "If-Match": ifMatch };
    const label = ifMatch === undefined ? "without If-Match" : "with If-Match";

    it(`PUT ${label}: 200 with the item as written, applied once`, async () => {
      const { body: item } = await created({ name: "before", keep: 1 });
      const response = await withLostAnswer(isItemsWrite("UpdateItem"), () =>
        invoke(replaceItem, itemEvent("PUT", item.id, { name: "after", status: "new" }, headers)),
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body).to.deep.include({ id: item.id, name: "after", status: "new", version: 2 });
      expect(response.body).not.to.have.property("keep");
      expect(response.headers.ETag).to.equal('"2"');
      expect((await stored(item.id)).body).to.deep.equal(response.body);
    });

    it(`PATCH ${label}, merged into a map in one update: 200, applied once`, async () => {
      const { body: item } = await created({ name: "x", data: { a: 1 } });
      const response = await withLostAnswer(isItemsWrite("UpdateItem"), () =>
        invoke(patchItem, itemEvent("PATCH", item.id, { data: { b: 2 } }, headers)),
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body).to.deep.include({ data: { a: 1, b: 2 }, version: 2 });
      expect((await stored(item.id)).body).to.deep.equal(response.body);
    });

    it(`PATCH ${label}, an object into a value that is not one (RFC 7396 replaces it): 200, applied once`, async () => {
      const { body: item } = await created({ name: "x", data: "a string" });
      const replacing = (request: DynamoDbRequest) =>
        isItemsWrite("UpdateItem")(request) && String(request.input.ConditionExpression).includes("NOT attribute_type");
      const response = await withLostAnswer(replacing, () =>
        invoke(patchItem, itemEvent("PATCH", item.id, { data: { boilers: 3, gone: null } }, headers)),
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body).to.deep.include({ data: { boilers: 3 }, version: 2 });
      expect((await stored(item.id)).body).to.deep.equal(response.body);
    });

    it(`PATCH ${label}, too large for one expression (merged and written whole): 200, applied once`, async () => {
      const { body: item } = await created({ name: "x", data: { a: 1 } });
      const keys = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`k${index}`, index]));
      const response = await withLostAnswer(isItemsWrite("UpdateItem"), () =>
        invoke(patchItem, itemEvent("PATCH", item.id, { data: keys }, headers)),
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(200);
      expect(response.body).to.deep.include({ data: { a: 1, ...keys }, version: 2 });
      expect((await stored(item.id)).body).to.deep.equal(response.body);
    });

    it(`DELETE ${label}: 204, the item gone`, async () => {
      const { body: item } = await created({ name: "x" });
      const response = await withLostAnswer(
        isItemsWrite("DeleteItem"),
        () => invoke(deleteItem, itemEvent("DELETE", item.id, undefined, headers)),
        false,
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(204);
      expect((await stored(item.id)).status).to.equal(404);
    });
  }

  it("create without Idempotency-Key: 201 with the item, stored once", async () => {
    const name = `unkeyed ${randomUUID()}`;
    const response = await withLostAnswer(isItemsWrite("PutItem"), () => invoke(createItem, createEvent({ name })));
    expect(response.status, JSON.stringify(response.body)).to.equal(201);
    expect((await stored(response.body.id)).body).to.deep.equal(response.body);
    expect(await storedNamed(name)).to.have.length(1);
  });

  for (const [step, select] of [
    ["claiming the key", (request: DynamoDbRequest) => request.input.TableName === TABLES.idempotency],
    ["writing the item", isItemsWrite("PutItem")],
  ] as const) {
    it(`create with Idempotency-Key, the answer lost while ${step}: 201, stored once, replayed`, async () => {
      const name = `keyed ${randomUUID()}`;
      const key = `retry-${randomUUID()}`;
      const response = await withLostAnswer(select, () =>
        invoke(createItem, createEvent({ name }, { "Idempotency-Key": key })),
      );
      expect(response.status, JSON.stringify(response.body)).to.equal(201);
      expect(await storedNamed(name)).to.have.length(1);
      const replay = await invoke(createItem, createEvent({ name }, { "Idempotency-Key": key }));
      expect(replay.status).to.equal(201);
      expect(replay.body).to.deep.equal(response.body);
    });
  }

  // The README's list of what costs more than one call, measured. The embedded engine returns
  // no image with a failed condition, so each failed round there adds one GetItem that DynamoDB
  // (and DynamoDB Local) does not need.
  it("PATCH: one UpdateItem whenever the guess holds; one round more for each other case", async () => {
    const attributes = Object.fromEntries(Array.from({ length: 47 }, (_, index) => [`a${index}`, index]));
    const { body: item } = await created({ name: "x", data: { a: 1 }, text: "t", ...attributes });
    // The deployed per-attempt timeout: no attempt of these times out, even on a loaded machine.
    const counted = dependencies(proxy.endpoint, 2000);
    const patch = async (body: unknown, headers: Record<string, string> = {}) => {
      const sentBefore = proxy.forwarded.length;
      const response = await invoke(patchItem, itemEvent("PATCH", item.id, body, headers), counted);
      return { status: response.status, calls: proxy.forwarded.slice(sentBefore).map((request) => request.operation) };
    };
    // The failed round's image, or (embedded engine) one consistent read.
    const failed = externalEndpoint === undefined ? ["UpdateItem", "GetItem"] : ["UpdateItem"];
    const oneRound = ["UpdateItem"];
    const twoRounds = [...failed, "UpdateItem"];
    expect(await patch({ data: { b: 2 }, text: null, name: "y" })).to.deep.equal({ status: 200, calls: oneRound });
    expect(await patch({ fresh: { x: 1 } })).to.deep.equal({ status: 200, calls: twoRounds });
    expect(await patch({ text: { x: 1 } })).to.deep.equal({ status: 200, calls: twoRounds });
    // 50 attributes now (47 + data, text, fresh): a replaced one lands in the second round, a new
    // one is 400 after the first.
    expect(await patch({ a0: "changed" })).to.deep.equal({ status: 200, calls: twoRounds });
    expect(await patch({ extra: 1 })).to.deep.equal({
      status: 400,
      calls: failed,
    });
    const large = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`k${index}`, index]));
    expect(await patch({ data: large })).to.deep.equal({
      status: 200,
      calls: ["GetItem", "UpdateItem"],
    });
    expect(await patch({ data: { c: 3 } }, { "If-Match": '"1"' })).to.deep.equal({
      status: 412,
      calls: failed,
    });
    counted.doc.destroy();
  });
});
