/**
 * Where a get's time goes, one request at a time in one process (no concurrency): the engine
 * answering the raw DynamoDB request, the same call through the SDK document client, the handler
 * (as source and as its serialized `__index.js`), the handler on a path without I/O, and the whole
 * local runtime over HTTP. Each step contains the previous one, so the differences are what each
 * layer adds. It explains the load figures; it is not a budget.
 */
import { Agent, request } from "http";
import { performance } from "perf_hooks";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { createDependencies } from "../handlers/dependencies";
import { ProxyHandler, createHandler } from "../handlers/http";
import { getItem } from "../handlers/items";
import { startEmbeddedEngine } from "../local/engine";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";
import { lambdaContext, proxyEvent } from "../test/support/lambda";
import { loadHandlerModules } from "../test/support/serialized-handlers";
import { BENCH_TABLES, handlerEnvironment } from "./runtime-child";
import { median } from "./cold";

export interface BreakdownStep {
  step: string;
  /** Median wall time of one request, microseconds. */
  wallUs: number;
  /** CPU time (user + system, all threads of this process) per request, microseconds. */
  cpuUs: number;
}

interface RawRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

function send(agent: Agent, base: string, raw: RawRequest): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const headers =
      raw.body === undefined ? raw.headers : { ...raw.headers, "content-length": String(Buffer.byteLength(raw.body)) };
    const outgoing = request(
      { host: url.hostname, port: url.port, method: raw.method, path: raw.path, headers, agent },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on("error", reject);
    outgoing.end(raw.body);
  });
}

interface Step {
  step: string;
  expected: number;
  run: () => Promise<number>;
}

/**
 * Runs the steps in turn, a block of each per round, so drift (JIT, GC, the machine) falls on all
 * of them alike; the first round only warms up.
 */
async function timeInterleaved(steps: Step[], iterations: number): Promise<BreakdownStep[]> {
  const rounds = 10;
  const block = Math.max(10, Math.ceil(iterations / rounds));
  const walls = steps.map((): number[] => []);
  const cpuUs = steps.map(() => 0);
  for (let round = 0; round <= rounds; round++) {
    for (const [index, step] of steps.entries()) {
      const cpu = process.cpuUsage();
      for (let count = 0; count < block; count++) {
        const started = performance.now();
        const status = await step.run();
        if (round > 0) {
          walls[index]?.push((performance.now() - started) * 1000);
        }
        if (status !== step.expected) {
          throw new Error(`${step.step}: status ${status}, expected ${step.expected}`);
        }
      }
      const used = process.cpuUsage(cpu);
      if (round > 0) {
        cpuUs[index] = (cpuUs[index] ?? 0) + used.user + used.system;
      }
    }
  }
  return steps.map((step, index) => ({
    step: step.step,
    wallUs: median(walls[index] ?? []),
    cpuUs: (cpuUs[index] ?? 0) / (walls[index]?.length ?? 1),
  }));
}

export async function measureBreakdown(
  serializedCodes: Record<string, string>,
  iterations: number,
): Promise<BreakdownStep[]> {
  const engine = await startEmbeddedEngine(undefined);
  const environment = handlerEnvironment(engine.endpoint);
  const api = await startLocalApi({
    settings: readStackSettings("dev"),
    dynamoDbEndpoint: engine.endpoint,
    tableNames: BENCH_TABLES,
    environment,
    accessLog: () => undefined,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const deps = createDependencies(environment);
  try {
    const created = await fetch(`${api.url}items`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "bench item", color: "red" }),
    });
    const id = String(((await created.json()) as { id?: unknown }).id);
    let captured: RawRequest | undefined;
    const capturing = createDependencies(environment);
    capturing.doc.middlewareStack.add(
      (next) => async (args) => {
        const sent = args.request as { method: string; path: string; headers: Record<string, string>; body: unknown };
        const body =
          sent.body instanceof Uint8Array
            ? Buffer.from(sent.body.buffer, sent.body.byteOffset, sent.body.byteLength).toString()
            : String(sent.body);
        const { host: _host, "content-length": _length, ...headers } = sent.headers;
        captured = { method: sent.method, path: sent.path, headers, body };
        return next(args);
      },
      { step: "deserialize", name: "benchCaptureRequest" },
    );
    await capturing.doc.send(new GetCommand({ TableName: BENCH_TABLES.items, Key: { id }, ConsistentRead: true }));
    capturing.doc.destroy();
    const raw = captured;
    if (raw === undefined) {
      throw new Error("no GetItem request was captured");
    }
    const serialized = loadHandlerModules({ getItem: serializedCodes.getItem ?? "" }, environment)
      .getItem as ProxyHandler;
    const source = createHandler("getItem", getItem, deps);
    const getEvent = proxyEvent({
      method: "GET",
      path: `/items/${id}`,
      resource: "/items/{id}",
      pathParameters: { id },
    });
    const noIoEvent = proxyEvent({
      method: "GET",
      path: "/items/not-a-uuid",
      resource: "/items/{id}",
      pathParameters: { id: "not-a-uuid" },
    });
    const status = async (pending: Promise<{ statusCode: number }>) => (await pending).statusCode;
    return await timeInterleaved(
      [
        { step: "engine: raw GetItem over HTTP", expected: 200, run: () => send(agent, engine.endpoint, raw) },
        {
          step: "+ SDK document client (doc.send)",
          expected: 200,
          run: async () => {
            await deps.doc.send(new GetCommand({ TableName: BENCH_TABLES.items, Key: { id }, ConsistentRead: true }));
            return 200;
          },
        },
        { step: "+ handler, source (getItem)", expected: 200, run: () => status(source(getEvent, lambdaContext())) },
        {
          step: "+ handler, serialized __index.js",
          expected: 200,
          run: () => status(serialized(getEvent, lambdaContext())),
        },
        {
          step: "+ local runtime over HTTP (GET /items/{id})",
          expected: 200,
          run: () => send(agent, api.url, { method: "GET", path: `/items/${id}`, headers: {} }),
        },
        {
          step: "handler alone, no I/O (404), source",
          expected: 404,
          run: () => status(source(noIoEvent, lambdaContext())),
        },
        {
          step: "handler alone, no I/O (404), serialized",
          expected: 404,
          run: () => status(serialized(noIoEvent, lambdaContext())),
        },
        {
          step: "local runtime alone, unknown route (404)",
          expected: 404,
          run: () => send(agent, api.url, { method: "GET", path: "/nothing", headers: {} }),
        },
      ],
      iterations,
    );
  } finally {
    agent.destroy();
    deps.doc.destroy();
    await api.close();
    await engine.close();
  }
}
