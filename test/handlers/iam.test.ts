/**
 * IAM follows the code. Every operation runs through every path it has (success, a failed
 * condition answered 404 or 412, PATCH's second round and its merge, an idempotent create's
 * replay, conflict and takeover, 503 after throttling) on the embedded engine, while SDK
 * middleware records each DynamoDB command its handler sends (once per call, before the SDK's
 * retries) and the table it names. Each route's DynamoDB statements, as infra/policies.ts writes
 * its role's policy from `routes[].dynamodb`, must allow exactly those actions on exactly those
 * tables: the engine enforces no IAM, so a command the policy lacks would otherwise fail only in
 * AWS, and a grant no path uses is privilege the function does not need.
 *
 * The embedded engine returns no item with a failed condition, so every failure path here reads
 * the item once (GetItem); DynamoDB skips that read when it returns the item, never adds one.
 */
import { randomUUID } from "crypto";
import { expect } from "chai";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ANONYMOUS_OWNER } from "../../handlers/caller";
import type { Dependencies } from "../../handlers/dependencies";
import { Operation, createHandler } from "../../handlers/http";
import {
  createItem,
  deleteItem,
  getItem,
  listItems,
  patchItem,
  replaceItem,
  requestHashOf,
} from "../../handlers/operations";
import { functionPolicyDocument } from "../../infra/policies";
import { routes } from "../../infra/routes";
import type { TableName } from "../../infra/tables";
import type { Engine } from "../../local/engine";
import { startTestEngine, testDependencies } from "../support/handler-dependencies";
import { createEvent, itemEvent, lambdaContext, proxyEvent } from "../support/lambda";
import { SentCommand, failEveryAttempt, namedError } from "../support/sdk-faults";

const suffix = randomUUID().slice(0, 8);
const TABLES: Record<TableName, string> = { items: `iam-${suffix}-items`, idempotency: `iam-${suffix}-idempotency` };
const TABLE_ARNS: Record<TableName, string> = {
  items: "arn:aws:dynamodb:us-east-1:000000000000:table/items",
  idempotency: "arn:aws:dynamodb:us-east-1:000000000000:table/idempotency",
};

const OPERATIONS: Record<string, Operation> = {
  createItem,
  listItems,
  getItem,
  replaceItem,
  patchItem,
  deleteItem,
};

/** `items dynamodb:GetItem`: an action on a table, as the policy grants it and the code sends it. */
type Access = string;

/** The DynamoDB part of a route's policy, as infra/policies.ts writes it. */
function policyAccess(operationId: string): Access[] {
  const route = routes.find((candidate) => candidate.operationId === operationId);
  if (route === undefined) {
    throw new Error(`no route ${operationId}`);
  }
  const policy = functionPolicyDocument({
    route,
    tableArns: TABLE_ARNS,
    logGroupArn: "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/iam",
    tracing: false,
  });
  const tableOfArn = new Map(Object.entries(TABLE_ARNS).map(([table, arn]) => [arn, table]));
  // functionPolicyDocument writes plain values: every Action and Resource a list of strings.
  const statements = policy.Statement as { Action: string[]; Resource: string[] }[];
  return statements.flatMap((statement) =>
    statement.Action.filter((action) => action.startsWith("dynamodb:")).flatMap((action) =>
      statement.Resource.map((resource) => `${tableOfArn.get(resource) ?? resource} ${action}`),
    ),
  );
}

/** Records every command `deps` sends, as the access it needs, in order. */
function recordAccess(deps: Dependencies): Access[] {
  const tableOfName = new Map(Object.entries(TABLES).map(([table, name]) => [name, table]));
  const sent: Access[] = [];
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const tableName = String((args.input as { TableName?: unknown }).TableName);
      const action = `dynamodb:${String(context.commandName).replace(/Command$/, "")}`;
      sent.push(`${tableOfName.get(tableName) ?? tableName} ${action}`);
      return next(args);
    },
    { step: "initialize", name: "recordAccess" },
  );
  return sent;
}

/** Lets the first PutItem on the items table be applied, then loses its answer (a timeout). */
function loseFirstItemWriteAnswer(deps: Dependencies): void {
  let lost = false;
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      const input = args.input as { TableName?: string };
      if (!lost && context.commandName === "PutItemCommand" && input.TableName === TABLES.items) {
        lost = true;
        throw namedError("TimeoutError", "response lost");
      }
      return output;
    },
    { step: "initialize", name: "loseFirstItemWriteAnswer" },
  );
}

const throttled = () => namedError("ThrottlingException");
const isItemsCommand = (name: string, command: SentCommand) =>
  command.name === name && command.input.TableName === TABLES.items;

const listEvent = (query: Record<string, string>) =>
  proxyEvent({ method: "GET", path: "/items", resource: "/items", query });
const MISSING_ID = "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11";

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
  body: any;
}

/**
 * One path of an operation: the requests that take it (`run` answers their statuses), and the
 * statuses and DynamoDB commands that show they took it.
 */
interface Path {
  name: string;
  /** Each path gets dependencies of its own: `prepare` may add faults to them. */
  prepare?: (deps: Dependencies) => void;
  run: (call: (event: APIGatewayProxyEvent) => Promise<Answer>) => Promise<number[]>;
  statuses: number[];
  sends: Access[];
}

describe("handlers: each route's IAM policy allows exactly the DynamoDB commands its paths send", function () {
  this.timeout(60000);
  let engine: Engine;
  let setup: Dependencies;

  before(async () => {
    engine = await startTestEngine(TABLES);
    setup = testDependencies(engine.endpoint, TABLES);
  });

  after(async () => {
    setup?.doc.destroy();
    await engine?.close();
  });

  async function invoke(operation: Operation, deps: Dependencies, event: APIGatewayProxyEvent): Promise<Answer> {
    const result = await createHandler("test", operation, deps)(event, lambdaContext());
    return { status: result.statusCode, body: result.body === "" ? undefined : JSON.parse(result.body) };
  }

  /** An item stored through the API, without recording. */
  async function stored(body: Record<string, unknown>): Promise<{ id: string; version: number }> {
    const created = await invoke(createItem, setup, createEvent(body));
    expect(created.status).to.equal(201);
    return created.body;
  }

  /** A live claim of `key` by another request for this body, written behind the API's back. */
  async function claimedElsewhere(
    key: string,
    body: { name: string },
    overrides: Record<string, unknown> = {},
  ): Promise<void> {
    const nowMs = Date.now();
    await setup.doc.send(
      new PutCommand({
        TableName: TABLES.idempotency,
        Item: {
          owner: ANONYMOUS_OWNER,
          id: key,
          requestHash: requestHashOf({ name: body.name, description: "", attrs: {} }),
          status: "in_progress",
          itemId: randomUUID(),
          expiresAt: Math.floor(nowMs / 1000) + 3600,
          lockedUntil: nowMs + 60000,
          ...overrides,
        },
      }),
    );
  }

  const statusOf = async (answer: Promise<Answer>) => [(await answer).status];
  const idempotent = (key: string) => ({ "Idempotency-Key": key });
  /** A keyed create of `name` after another request's create of `before` with the same key. */
  const keyedAfterAnother = async (
    call: (event: APIGatewayProxyEvent) => Promise<Answer>,
    before: string,
    name: string,
  ) => {
    const key = randomUUID();
    await invoke(createItem, setup, createEvent({ name: before }, idempotent(key)));
    return statusOf(call(createEvent({ name }, idempotent(key))));
  };
  /** The same keyed create sent twice: the first try, then the client's retry. */
  const createdTwice = async (call: (event: APIGatewayProxyEvent) => Promise<Answer>, name: string) => {
    const key = randomUUID();
    const first = await call(createEvent({ name }, idempotent(key)));
    const retry = await call(createEvent({ name }, idempotent(key)));
    return [first.status, retry.status];
  };

  /** Every attempt throttled: 503 after the one call. */
  const throttledPath = (event: APIGatewayProxyEvent, access: Access): Path => ({
    name: "throttled: 503",
    prepare: (deps) => failEveryAttempt(deps, throttled),
    run: (call) => statusOf(call(event)),
    statuses: [503],
    sends: [access],
  });

  /** A stale If-Match (412) and a missing item (404): each read after its failed UpdateItem. */
  const failedConditionsPath = (method: "PUT" | "PATCH", body: Record<string, unknown>): Path => ({
    name: "a stale If-Match, and a missing item: the item is read after the failed condition",
    run: async (call) => {
      const item = await stored({ name: "stale" });
      const stale = await call(itemEvent(method, item.id, body, { "If-Match": '"7"' }));
      const missing = await call(itemEvent(method, MISSING_ID, body));
      return [stale.status, missing.status];
    },
    statuses: [412, 404],
    sends: [
      "items dynamodb:UpdateItem",
      "items dynamodb:GetItem",
      "items dynamodb:UpdateItem",
      "items dynamodb:GetItem",
    ],
  });

  /** A keyed create whose item write fails: the claim, the write, and the claim's lock ended. */
  const ITEM_WRITE_FAILED: Access[] = [
    "idempotency dynamodb:UpdateItem",
    "items dynamodb:PutItem",
    "idempotency dynamodb:UpdateItem",
  ];

  const PATHS: Record<string, Path[]> = {
    createItem: [
      {
        name: "without Idempotency-Key",
        run: (call) => statusOf(call(createEvent({ name: "plain" }))),
        statuses: [201],
        sends: ["items dynamodb:PutItem"],
      },
      {
        name: "with a new Idempotency-Key: claim, write, complete",
        run: (call) => statusOf(call(createEvent({ name: "keyed" }, idempotent(randomUUID())))),
        statuses: [201],
        sends: ["idempotency dynamodb:UpdateItem", "items dynamodb:PutItem", "idempotency dynamodb:UpdateItem"],
      },
      {
        name: "replayed: the claim fails and the record is read",
        run: (call) => keyedAfterAnother(call, "replayed", "replayed"),
        statuses: [201],
        sends: ["idempotency dynamodb:UpdateItem", "idempotency dynamodb:GetItem"],
      },
      {
        name: "the key reused with another body: 422",
        run: (call) => keyedAfterAnother(call, "first", "second"),
        statuses: [422],
        sends: ["idempotency dynamodb:UpdateItem", "idempotency dynamodb:GetItem"],
      },
      {
        name: "the key held by a request in flight: 409",
        run: async (call) => {
          const key = randomUUID();
          await claimedElsewhere(key, { name: "in flight" });
          return statusOf(call(createEvent({ name: "in flight" }, idempotent(key))));
        },
        statuses: [409],
        sends: ["idempotency dynamodb:UpdateItem", "idempotency dynamodb:GetItem"],
      },
      {
        name: "a record past its 24 h window: the claim fails, and a fresh record replaces that one",
        run: async (call) => {
          const key = randomUUID();
          await claimedElsewhere(key, { name: "expired" }, { expiresAt: Math.floor(Date.now() / 1000) - 1 });
          return statusOf(call(createEvent({ name: "renewed" }, idempotent(key))));
        },
        statuses: [201],
        sends: [
          "idempotency dynamodb:UpdateItem",
          "idempotency dynamodb:GetItem",
          "idempotency dynamodb:PutItem",
          "items dynamodb:PutItem",
          "idempotency dynamodb:UpdateItem",
        ],
      },
      {
        name: "the item write throttled: 503 and the claim's lock ended; the retry takes the claim over",
        prepare: (deps) => {
          let throttles = 1;
          failEveryAttempt(deps, throttled, (command) => isItemsCommand("PutItemCommand", command) && throttles-- > 0);
        },
        run: (call) => createdTwice(call, "taken over"),
        statuses: [503, 201],
        sends: [
          ...ITEM_WRITE_FAILED,
          "idempotency dynamodb:UpdateItem",
          "items dynamodb:PutItem",
          "idempotency dynamodb:UpdateItem",
        ],
      },
      {
        name: "the item write applied but its answer lost: 503; the takeover finds the item",
        prepare: loseFirstItemWriteAnswer,
        run: (call) => createdTwice(call, "found"),
        statuses: [503, 201],
        sends: [
          ...ITEM_WRITE_FAILED,
          "idempotency dynamodb:UpdateItem",
          "items dynamodb:PutItem",
          "items dynamodb:GetItem",
          "idempotency dynamodb:UpdateItem",
        ],
      },
    ],
    listItems: [
      {
        name: "a page and the next",
        run: async (call) => {
          await stored({ name: "listed 1" });
          await stored({ name: "listed 2" });
          const first = await call(listEvent({ limit: "1" }));
          const next = await call(listEvent({ limit: "1", cursor: first.body.nextCursor }));
          return [first.status, next.status];
        },
        statuses: [200, 200],
        sends: ["items dynamodb:Query", "items dynamodb:Query"],
      },
      {
        name: "a cursor this API did not issue: 400 before any call",
        run: (call) => statusOf(call(listEvent({ cursor: "forged.cursor" }))),
        statuses: [400],
        sends: [],
      },
      throttledPath(listEvent({}), "items dynamodb:Query"),
    ],
    getItem: [
      {
        name: "found, not modified, missing",
        run: async (call) => {
          const item = await stored({ name: "got" });
          return [
            ...(await statusOf(call(itemEvent("GET", item.id)))),
            ...(await statusOf(call(itemEvent("GET", item.id, undefined, { "If-None-Match": '"1"' })))),
            ...(await statusOf(call(itemEvent("GET", MISSING_ID)))),
          ];
        },
        statuses: [200, 304, 404],
        sends: ["items dynamodb:GetItem", "items dynamodb:GetItem", "items dynamodb:GetItem"],
      },
      throttledPath(itemEvent("GET", MISSING_ID), "items dynamodb:GetItem"),
    ],
    replaceItem: [
      {
        name: "without and with If-Match",
        run: async (call) => {
          const item = await stored({ name: "replaced" });
          return [
            ...(await statusOf(call(itemEvent("PUT", item.id, { name: "once" })))),
            ...(await statusOf(call(itemEvent("PUT", item.id, { name: "twice" }, { "If-Match": '"2"' })))),
          ];
        },
        statuses: [200, 200],
        sends: ["items dynamodb:UpdateItem", "items dynamodb:UpdateItem"],
      },
      failedConditionsPath("PUT", { name: "x" }),
      throttledPath(itemEvent("PUT", MISSING_ID, { name: "x" }), "items dynamodb:UpdateItem"),
    ],
    patchItem: [
      {
        name: "merged in one round",
        run: async (call) => {
          const item = await stored({ name: "patched", data: { a: 1 } });
          return statusOf(call(itemEvent("PATCH", item.id, { data: { b: 2 } })));
        },
        statuses: [200],
        sends: ["items dynamodb:UpdateItem"],
      },
      {
        name: "a second round, once the first showed the item's shape",
        run: async (call) => {
          const item = await stored({ name: "reshaped", data: "a string" });
          return statusOf(call(itemEvent("PATCH", item.id, { data: { b: 2 } })));
        },
        statuses: [200],
        sends: ["items dynamodb:UpdateItem", "items dynamodb:GetItem", "items dynamodb:UpdateItem"],
      },
      {
        name: "too large for one expression: merged in memory and written whole",
        run: async (call) => {
          const item = await stored({ name: "merged", data: { a: 1 } });
          const large = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`k${index}`, index]));
          return statusOf(call(itemEvent("PATCH", item.id, { data: large })));
        },
        statuses: [200],
        sends: ["items dynamodb:GetItem", "items dynamodb:UpdateItem"],
      },
      failedConditionsPath("PATCH", { a: 1 }),
      throttledPath(itemEvent("PATCH", MISSING_ID, { a: 1 }), "items dynamodb:UpdateItem"),
    ],
    deleteItem: [
      {
        name: "deleted",
        run: async (call) => {
          const item = await stored({ name: "deleted" });
          return statusOf(call(itemEvent("DELETE", item.id, undefined, { "If-Match": '"1"' })));
        },
        statuses: [204],
        sends: ["items dynamodb:DeleteItem"],
      },
      {
        name: "a stale If-Match: the item is read after the failed condition",
        run: async (call) => {
          const item = await stored({ name: "kept" });
          return statusOf(call(itemEvent("DELETE", item.id, undefined, { "If-Match": '"7"' })));
        },
        statuses: [412],
        sends: ["items dynamodb:DeleteItem", "items dynamodb:GetItem"],
      },
      {
        name: "a missing item, read only when If-Match was sent",
        run: async (call) => [
          ...(await statusOf(call(itemEvent("DELETE", MISSING_ID)))),
          ...(await statusOf(call(itemEvent("DELETE", MISSING_ID, undefined, { "If-Match": '"1"' })))),
        ],
        statuses: [404, 404],
        sends: ["items dynamodb:DeleteItem", "items dynamodb:DeleteItem", "items dynamodb:GetItem"],
      },
      throttledPath(itemEvent("DELETE", MISSING_ID), "items dynamodb:DeleteItem"),
    ],
  };

  it("covers every route of the route table", () => {
    expect(Object.keys(PATHS)).to.deep.equal(routes.map((route) => route.operationId));
    expect(Object.keys(OPERATIONS)).to.deep.equal(routes.map((route) => route.operationId));
  });

  for (const [operationId, paths] of Object.entries(PATHS)) {
    it(`${operationId}: its policy's DynamoDB actions are exactly those its paths send`, async () => {
      const operation = OPERATIONS[operationId];
      if (operation === undefined) {
        throw new Error(`no operation ${operationId}`);
      }
      const observed: Pick<Path, "name" | "statuses" | "sends">[] = [];
      for (const path of paths) {
        // One attempt per call: a fault answers at once, and a lost answer is not retried.
        const deps = testDependencies(engine.endpoint, TABLES, { maxAttempts: 1 });
        const sends = recordAccess(deps);
        path.prepare?.(deps);
        try {
          const statuses = await path.run((event) => invoke(operation, deps, event));
          observed.push({ name: path.name, statuses, sends });
        } finally {
          deps.doc.destroy();
        }
      }
      const sent = [...new Set(observed.flatMap((path) => path.sends))].sort();
      expect(sent, `${operationId}: what its paths send`).to.deep.equal(policyAccess(operationId).sort());
      // Each path took the way it names: its statuses, and the commands that show it.
      expect(observed).to.deep.equal(paths.map(({ name, statuses, sends }) => ({ name, statuses, sends })));
    });
  }
});
