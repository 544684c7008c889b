/**
 * DynamoDB calls per operation, counted with SDK middleware (one entry per command sent, before
 * retries), for the handlers as the design builds them (one client per container) and for the
 * naive baseline (a client per call: the middleware goes on each new client).
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import { Dependencies, createDependencies } from "../handlers/dependencies";
import { ProxyHandler, createHandler } from "../handlers/http";
import { createItem, deleteItem, getItem, listItems, patchItem, replaceItem } from "../handlers/items";
import { IDEMPOTENCY_TABLE, ITEMS_TABLE } from "../infra/table-definitions";
import { engineClient, ensureTables, startEmbeddedEngine } from "../local/engine";
import { lambdaContext, proxyEvent } from "../test/support/lambda";
import { NAIVE_OPERATIONS, naiveHandler } from "./naive";
import { BENCH_TABLES, handlerEnvironment } from "./runtime-child";
import { withEnvironment } from "../local/environment";

export interface CallCount {
  operation: string;
  design: "items-api" | "naive";
  /** Exactly one DynamoDB call is the budget; false for paths documented to need more. */
  budgeted: boolean;
  status: number;
  calls: number;
  commands: string[];
}

function counter(deps: Dependencies, commands: string[]): void {
  deps.doc.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName).replace(/Command$/, ""));
      return next(args);
    },
    { step: "initialize", name: "benchCountCalls" },
  );
}

const itemEvent = (method: string, id: string, body?: unknown, headers: Record<string, string> = {}) =>
  proxyEvent({ method, path: `/items/${id}`, resource: "/items/{id}", pathParameters: { id }, body, headers });

export async function countDynamoDbCalls(): Promise<CallCount[]> {
  const engine = await startEmbeddedEngine(undefined);
  const client = engineClient(engine.endpoint);
  const clients: Dependencies[] = [];
  try {
    await ensureTables(client, [
      { definition: ITEMS_TABLE, name: BENCH_TABLES.items },
      { definition: IDEMPOTENCY_TABLE, name: BENCH_TABLES.idempotency },
    ]);
    const environment = handlerEnvironment(engine.endpoint);
    const commands: string[] = [];
    const deps = createDependencies(environment);
    clients.push(deps);
    counter(deps, commands);
    const ours = (operation: Parameters<typeof createHandler>[1]) => createHandler("bench", operation, deps);
    const counts: CallCount[] = [];
    const count = async (
      operation: string,
      design: CallCount["design"],
      budgeted: boolean,
      handler: ProxyHandler,
      event: APIGatewayProxyEvent,
    ): Promise<{ status: number; body: Record<string, unknown> }> => {
      commands.length = 0;
      const response = await handler(event, lambdaContext());
      counts.push({
        operation,
        design,
        budgeted,
        status: response.statusCode,
        calls: commands.length,
        commands: [...commands],
      });
      return { status: response.statusCode, body: response.body === "" ? {} : JSON.parse(response.body) };
    };

    const created = await count("create", "items-api", true, ours(createItem), createEvent());
    const id = String(created.body.id);
    for (let index = 0; index < 25; index++) {
      await ours(createItem)(createEvent(), lambdaContext());
    }
    await count("get", "items-api", true, ours(getItem), itemEvent("GET", id));
    await count("replace", "items-api", true, ours(replaceItem), itemEvent("PUT", id, { name: "replaced" }));
    await count("patch", "items-api", true, ours(patchItem), itemEvent("PATCH", id, { color: "blue" }));
    const firstPage = await count(
      "list page",
      "items-api",
      true,
      ours(listItems),
      proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { limit: "10" } }),
    );
    const cursor = String(firstPage.body.nextCursor);
    await count(
      "list next page",
      "items-api",
      true,
      ours(listItems),
      proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { limit: "10", cursor } }),
    );
    await count("delete", "items-api", true, ours(deleteItem), itemEvent("DELETE", id));
    // Documented exceptions: a keyed create claims, writes and records; a failed If-Match reads once.
    await count(
      "create, Idempotency-Key",
      "items-api",
      false,
      ours(createItem),
      createEvent({ "Idempotency-Key": "k1" }),
    );
    const other = await ours(createItem)(createEvent(), lambdaContext());
    const otherId = String((JSON.parse(other.body) as { id: string }).id);
    await count(
      "replace, If-Match mismatch (412)",
      "items-api",
      false,
      ours(replaceItem),
      itemEvent("PUT", otherId, { name: "x" }, { "If-Match": '"9"' }),
    );

    // The naive baseline runs the same operations with a new client per call.
    const naive = (operationId: string) => {
      const operation = NAIVE_OPERATIONS[operationId];
      if (operation === undefined) {
        throw new Error(`no naive ${operationId}`);
      }
      return naiveHandler(operationId, operation, (fresh) => {
        clients.push(fresh);
        counter(fresh, commands);
      });
    };
    // The naive handler reads its settings from process.env on every call.
    await withEnvironment(environment, async () => {
      await count("create", "naive", true, naive("createItem"), createEvent());
      await count("get", "naive", true, naive("getItem"), itemEvent("GET", otherId));
      await count(
        "list page",
        "naive",
        true,
        naive("listItems"),
        proxyEvent({ method: "GET", path: "/items", resource: "/items", query: { limit: "10" } }),
      );
    });
    return counts;
  } finally {
    for (const deps of clients) {
      deps.doc.destroy();
    }
    client.destroy();
    await engine.close();
  }
}

function createEvent(headers: Record<string, string> = {}): APIGatewayProxyEvent {
  return proxyEvent({
    method: "POST",
    path: "/items",
    resource: "/items",
    body: { name: "bench item", color: "red" },
    headers,
  });
}
