/**
 * One get at a time, in one process, layer by layer: the engine answering the raw GetItem
 * request (as the SDK client signs it, captured on the wire), the same call through the document
 * client the handlers build, the getItem handler called directly, and GET /items/{id} through the
 * local runtime over HTTP. Each step contains the one before it, so the differences are each
 * layer's share. Steps are timed in turn, a block of each per round, so drift (JIT, GC, other
 * work on the machine) falls on all of them alike; the first round only warms up.
 */
import { Agent, request } from "http";
import { performance } from "perf_hooks";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { ANONYMOUS_OWNER } from "../handlers/caller";
import { createDependencies } from "../handlers/dependencies";
import { HANDLER_VARIABLES } from "../handlers/env";
import { routes } from "../infra/routes";
import { withEnvironmentSync } from "../local/environment";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";
import { lambdaContext, proxyEvent } from "../test/support/lambda";
import { RecordedRequest, startRecordingProxy } from "./calls";
import { median } from "./cold";
import { createItem } from "./load";

/** One get at a step: median wall time, and CPU time of this process (all threads) per get. */
export interface GetStep {
  wallUs: number;
  cpuUs: number;
}

export interface GetShares {
  engine: GetStep;
  sdk: GetStep;
  handler: GetStep;
  runtime: GetStep;
}

function send(agent: Agent, base: string, raw: Omit<RecordedRequest, "command">): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const outgoing = request(
      { hostname, port, method: raw.method, path: raw.path, headers: raw.headers, agent },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(raw.body);
  });
}

export async function measureGetShares(iterations: number): Promise<GetShares> {
  const api = await startLocalApi({ settings: readStackSettings("dev"), stack: "dev", accessLog: () => undefined });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { doc } = createDependencies(api.environment);
  try {
    const id = await createItem(api.url);
    const get = new GetCommand({
      TableName: api.tableNames.items,
      Key: { owner: ANONYMOUS_OWNER, id },
      ConsistentRead: true,
    });
    const proxy = await startRecordingProxy(api.dynamoDbEndpoint);
    const capturing = createDependencies({ ...api.environment, [HANDLER_VARIABLES.dynamoDbEndpoint]: proxy.url }).doc;
    await capturing.send(get);
    capturing.destroy();
    await proxy.close();
    const raw = proxy.requests[0];
    const factory = routes.find((route) => route.operationId === "getItem")?.handlerFactory;
    if (raw === undefined || factory === undefined) {
      throw new Error("no GetItem request was captured, or no getItem route");
    }
    const handler = withEnvironmentSync(api.environment, factory);
    const event = proxyEvent({ method: "GET", path: `/items/${id}`, resource: "/items/{id}", pathParameters: { id } });
    const steps: (() => Promise<number>)[] = [
      () => send(agent, api.dynamoDbEndpoint, raw),
      async () => ((await doc.send(get)).Item === undefined ? 404 : 200),
      async () => (await handler(event, lambdaContext())).statusCode,
      () => send(agent, api.url, { method: "GET", path: `/items/${id}`, headers: {}, body: "" }),
    ];
    const walls = steps.map((): number[] => []);
    const cpuUs = steps.map(() => 0);
    const rounds = 10;
    const block = Math.max(10, Math.ceil(iterations / rounds));
    for (let round = 0; round <= rounds; round++) {
      for (const [index, step] of steps.entries()) {
        const cpu = process.cpuUsage();
        for (let count = 0; count < block; count++) {
          const started = performance.now();
          const status = await step();
          if (status !== 200) {
            throw new Error(`get step ${index} answered ${status}`);
          }
          walls[index]?.push((performance.now() - started) * 1000);
        }
        const used = process.cpuUsage(cpu);
        // The first round only warms up.
        if (round === 0) {
          walls[index] = [];
        } else {
          cpuUs[index] = (cpuUs[index] ?? 0) + (used.user + used.system) / (block * rounds);
        }
      }
    }
    const at = (index: number) => ({ wallUs: median(walls[index] ?? []), cpuUs: cpuUs[index] ?? NaN });
    return { engine: at(0), sdk: at(1), handler: at(2), runtime: at(3) };
  } finally {
    agent.destroy();
    doc.destroy();
    await api.close();
  }
}
