/**
 * Least privilege down to the row, from the code's side. On a sign-in stack each request's
 * DynamoDB calls run under a session of the route's data access role tagged with the caller's
 * `sub` (infra/policies.ts). Every operation runs here as a signed-in user on the embedded engine
 * while middleware records each command with the partition keys it names; each command is then
 * put through the IAM evaluator against the route's data access policy, for a session tagged with
 * that user: all allowed. The same requests from a handler that builds another owner's keys (the
 * bug this guards against) are all denied. And the session clients: one STS call per new owner,
 * none for an owner seen before, a new one before the session ends.
 */
import { randomUUID } from "crypto";
import { expect } from "chai";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import { Dependencies, SESSION, createDependencies } from "../../handlers/dependencies";
import { handlerEnvironment } from "../../handlers/env";
import { isHttpError } from "../../handlers/errors";
import { Operation, createHandler } from "../../handlers/http";
import { createItem, deleteItem, getItem, listItems, patchItem, replaceItem } from "../../handlers/operations";
import { dataAccessPolicyDocument } from "../../infra/policies";
import { routes } from "../../infra/routes";
import type { TableName } from "../../infra/tables";
import type { Engine } from "../../local/engine";
import { startTestEngine, testDependencies } from "../support/handler-dependencies";
import { StsRefusal, startFakeSts as fakeSts } from "../support/fake-sts";
import { createEvent, itemEvent, lambdaContext, proxyEvent } from "../support/lambda";

const suffix = randomUUID().slice(0, 8);
const TABLES: Record<TableName, string> = { items: `rows-${suffix}-items`, idempotency: `rows-${suffix}-idempotency` };
const ACCOUNT = "000000000000";
const TABLE_ARNS: Record<TableName, string> = {
  items: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/items`,
  idempotency: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/idempotency`,
};
const CLIENT = "rows-app-client";
const ALICE = "0c1d2e3f-0000-4000-8000-00000000a11c";
const BOB = "0c1d2e3f-0000-4000-8000-0000000000b0";

/** A command as IAM sees it: its action, its table, and the partition keys it names. */
interface SentRequest {
  action: string;
  table: TableName;
  leadingKeys: string[];
}

/** The partition keys a command names: its Key, Item or ExclusiveStartKey owner, or the Query's owner value. */
function leadingKeysOf(input: Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const field of ["Key", "Item", "ExclusiveStartKey"]) {
    const value = input[field] as { owner?: unknown } | undefined;
    if (typeof value?.owner === "string") {
      keys.add(value.owner);
    }
  }
  const condition = input.KeyConditionExpression;
  if (typeof condition === "string") {
    const names = input.ExpressionAttributeNames as Record<string, string>;
    const values = input.ExpressionAttributeValues as Record<string, unknown>;
    for (const [, name, value] of condition.matchAll(/(#\w+) = (:\w+)/g)) {
      if (names[name ?? ""] === "owner" && typeof values[value ?? ""] === "string") {
        keys.add(String(values[value ?? ""]));
      }
    }
  }
  return [...keys];
}

function recordRequests(deps: Dependencies): SentRequest[] {
  const tableOfName = new Map(Object.entries(TABLES).map(([table, name]) => [name, table as TableName]));
  const sent: SentRequest[] = [];
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const table = tableOfName.get(String(input.TableName));
      if (table !== undefined) {
        sent.push({
          action: `dynamodb:${String(context.commandName).replace(/Command$/, "")}`,
          table,
          leadingKeys: leadingKeysOf(input),
        });
      }
      return next(args);
    },
    { step: "initialize", name: "recordRequests" },
  );
  return sent;
}

/** What IAM decides for one command of a session tagged `owner`, under the route's data policy. */
function decision(operationId: string, owner: string, request: SentRequest): string {
  const route = routes.find((candidate) => candidate.operationId === operationId);
  if (route === undefined) {
    throw new Error(`no route ${operationId}`);
  }
  return runUnsafeSimulation(
    {
      identityPolicies: [{ name: "data", policy: dataAccessPolicyDocument(route, TABLE_ARNS) }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${operationId}-data/owner-${owner}`,
        resource: { resource: TABLE_ARNS[request.table], accountId: ACCOUNT },
        contextVariables: { "aws:PrincipalTag/owner": owner, "dynamodb:LeadingKeys": request.leadingKeys },
      },
    },
    {},
  );
}

const signedIn = (event: APIGatewayProxyEvent, sub: string): APIGatewayProxyEvent => ({
  ...event,
  requestContext: { ...event.requestContext, authorizer: { claims: { sub, aud: CLIENT, token_use: "id" } } },
});

describe("handlers: every DynamoDB call of a signed-in request stays in its owner's partition, as IAM sees it", function () {
  this.timeout(60000);
  let engine: Engine;

  before(async () => {
    engine = await startTestEngine(TABLES);
  });

  after(async () => {
    await engine.close();
  });

  function dependencies(): Dependencies {
    const deps = testDependencies(engine.endpoint, TABLES);
    deps.settings = { ...deps.settings, signIn: "cognito", cognitoClientIds: [CLIENT] };
    return deps;
  }

  /** Every operation as `sub`, through `wrap` (a faithful handler, or one that builds other keys). */
  async function everyOperation(sub: string, wrap: (operation: Operation) => Operation) {
    const deps = dependencies();
    const sent = recordRequests(deps);
    const calls: { operationId: string; from: number; to: number; status: number }[] = [];
    const call = async (operationId: string, operation: Operation, event: APIGatewayProxyEvent) => {
      const from = sent.length;
      const result = await createHandler(operationId, wrap(operation), deps)(signedIn(event, sub), lambdaContext());
      calls.push({ operationId, from, to: sent.length, status: result.statusCode });
      return result.body === "" ? undefined : (JSON.parse(result.body) as { id: string; nextCursor?: string });
    };
    const created = await call("createItem", createItem, createEvent({ name: "mine" }));
    await call("createItem", createItem, createEvent({ name: "keyed" }, { "Idempotency-Key": randomUUID() }));
    const id = created?.id ?? "";
    const page = await call(
      "listItems",
      listItems,
      proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { limit: "1" } }),
    );
    await call(
      "listItems",
      listItems,
      proxyEvent({
        method: "GET",
        path: "/items",
        resource: "/items",
        query: { limit: "1", cursor: page?.nextCursor ?? "" },
      }),
    );
    await call("getItem", getItem, itemEvent("GET", id));
    await call("replaceItem", replaceItem, itemEvent("PUT", id, { name: "replaced" }));
    await call("patchItem", patchItem, itemEvent("PATCH", id, { a: { b: 1 } }));
    await call("deleteItem", deleteItem, itemEvent("DELETE", id));
    return calls.map((entry) => ({ ...entry, requests: sent.slice(entry.from, entry.to) }));
  }

  it("sends only keys of the caller's partition, each call allowed for a session tagged with the caller", async () => {
    const calls = await everyOperation(ALICE, (operation) => operation);
    expect(calls.map((entry) => [entry.operationId, entry.status])).to.deep.equal([
      ["createItem", 201],
      ["createItem", 201],
      ["listItems", 200],
      ["listItems", 200],
      ["getItem", 200],
      ["replaceItem", 200],
      ["patchItem", 200],
      ["deleteItem", 204],
    ]);
    const requests = calls.flatMap((entry) =>
      entry.requests.map((request) => ({ ...request, operationId: entry.operationId })),
    );
    expect(requests.length).to.be.at.least(10);
    for (const request of requests) {
      expect(request.leadingKeys, `${request.operationId} ${request.action}`).to.deep.equal([ALICE]);
      expect(decision(request.operationId, ALICE, request), `${request.operationId} ${request.action}`).to.equal(
        "Allowed",
      );
    }
  });

  it("has IAM refuse every call of a handler that builds another owner's keys", async () => {
    // A handler bug: whoever signed in, the keys name Bob's partition. The session is Alice's.
    const calls = await everyOperation(
      ALICE,
      (operation) => (invocation) =>
        operation({ ...invocation, store: Object.assign(invocation.store, { owner: BOB }) }),
    );
    const requests = calls.flatMap((entry) =>
      entry.requests.map((request) => ({ ...request, operationId: entry.operationId })),
    );
    expect(requests.length).to.be.at.least(10);
    for (const request of requests) {
      expect(request.leadingKeys).to.deep.equal([BOB]);
      expect(decision(request.operationId, ALICE, request), `${request.operationId} ${request.action}`).to.equal(
        "ImplicitlyDenied",
      );
    }
  });
});

describe("handlers: owner sessions from STS, one per owner, cached while they last", function () {
  this.timeout(30000);

  // The SDK reads a service's endpoint from AWS_ENDPOINT_URL_<SERVICE> when it resolves a request.
  let previousEndpoint: string | undefined;
  beforeEach(() => {
    previousEndpoint = process.env.AWS_ENDPOINT_URL_STS;
  });
  afterEach(() => {
    if (previousEndpoint === undefined) {
      delete process.env.AWS_ENDPOINT_URL_STS;
    } else {
      process.env.AWS_ENDPOINT_URL_STS = previousEndpoint;
    }
  });

  function sessionDependencies(stsEndpoint: string): Dependencies {
    process.env.AWS_ENDPOINT_URL_STS = stsEndpoint;
    return createDependencies({
      ...handlerEnvironment({
        tableNames: TABLES,
        cursorSecret: "s",
        settings: { corsAllowedOrigins: [], logLevel: "error", lambda: { timeoutSeconds: 10 } },
        signIn: { cognitoClientIds: CLIENT },
      }),
      DATA_ACCESS_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/data`,
    });
  }

  it("makes one AssumeRole per new owner, tagged with it, and none for an owner seen before", async () => {
    const sts = await fakeSts(60 * 60 * 1000);
    try {
      const deps = sessionDependencies(sts.endpoint);
      const alice = await deps.docFor(ALICE);
      expect(await deps.docFor(ALICE)).to.equal(alice);
      const bob = await deps.docFor(BOB);
      expect(bob).not.to.equal(alice);
      expect(await deps.docFor(ALICE)).to.equal(alice);
      expect(
        sts.requests.map((request) => [
          request.get("Action"),
          request.get("RoleSessionName"),
          request.get("Tags.member.1.Key"),
          request.get("Tags.member.1.Value"),
          request.get("DurationSeconds"),
        ]),
      ).to.deep.equal([
        ["AssumeRole", `owner-${ALICE}`, "owner", ALICE, String(SESSION.seconds)],
        ["AssumeRole", `owner-${BOB}`, "owner", BOB, String(SESSION.seconds)],
      ]);
      expect(await (await alice.config.credentials()).accessKeyId).to.equal("ASIA1");
    } finally {
      await sts.close();
    }
  });

  it("answers 503 when STS throttles or cannot be reached, after the configured attempts, and 500 when it refuses", async () => {
    const answerOf = (error: unknown) => (isHttpError(error) ? [error.statusCode, error.code] : String(error));
    const failureOf = async (endpoint: string) => {
      const deps = sessionDependencies(endpoint);
      const error = await deps.docFor(ALICE).then(
        () => expect.fail("docFor resolved"),
        (thrown: unknown) => thrown,
      );
      return { error, attempts: deps.settings.dynamoDbMaxAttempts };
    };
    const refusedBy = async (refusal: StsRefusal) => {
      const sts = await fakeSts(60 * 60 * 1000, undefined, refusal);
      try {
        return { ...(await failureOf(sts.endpoint)), requests: sts.requests.length };
      } finally {
        await sts.close();
      }
    };
    const throttled = await refusedBy({ status: 400, code: "Throttling" });
    expect(answerOf(throttled.error)).to.deep.equal([503, "unavailable"]);
    expect(throttled.requests).to.equal(throttled.attempts).and.to.equal(3);
    const denied = await refusedBy({ status: 403, code: "AccessDenied" });
    expect(answerOf(denied.error)).to.deep.equal([500, "internal_error"]);
    expect(denied.requests).to.equal(1);
    // Nothing listens on a port just closed: the connection is refused.
    const closed = await fakeSts(60 * 60 * 1000);
    await closed.close();
    const unreachable = await failureOf(closed.endpoint);
    expect(answerOf(unreachable.error)).to.deep.equal([503, "unavailable"]);
  });

  it("starts a new session once the cached one is within five minutes of its end", async () => {
    const sts = await fakeSts(SESSION.renewBeforeMs - 1000);
    try {
      const deps = sessionDependencies(sts.endpoint);
      const first = await deps.docFor(ALICE);
      const second = await deps.docFor(ALICE);
      expect(second).not.to.equal(first);
      expect(sts.requests).to.have.length(2);
    } finally {
      await sts.close();
    }
  });
});
