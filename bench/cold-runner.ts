/**
 * One cold start, in a fresh Node process: require a Lambda module (the serialized `__index.js`,
 * whose last line runs the route's factory, or the floor module), then, when it exports a
 * handler, answer one request that every route refuses before any DynamoDB call:
 * GET /items/not-a-uuid?limit=0 (404 for the routes with an id, 400 for a list, 415 for a create). The bench transpiles this file to plain JavaScript (bench/out/cold/runner.js)
 * so that no TypeScript loader sits in the measured process; it imports Node built-ins only.
 *
 *   node runner.js <module.js> <result.json>
 */
import { writeFileSync } from "fs";
import { performance } from "perf_hooks";

export interface ColdSample {
  /** From process start to the require (Node's own bootstrap; the same for every module). */
  bootMs: number;
  /** require() of the module, i.e. load + factory: Lambda's init phase for this code. */
  initMs: number;
  /** CPU time (user + system, all threads) spent in initMs. */
  initCpuMs: number;
  /** From the require to the first response, when the module has a handler. */
  firstResponseMs?: number;
  status?: number;
  /** Resident set size after the first response (or after init). */
  rssMb: number;
  heapUsedMb: number;
}

function notFoundEvent(): Record<string, unknown> {
  const headers = { Host: "api.example.com", "X-Forwarded-Proto": "https" };
  return {
    resource: "/items/{id}",
    path: "/items/not-a-uuid",
    httpMethod: "GET",
    headers,
    multiValueHeaders: { Host: ["api.example.com"], "X-Forwarded-Proto": ["https"] },
    queryStringParameters: { limit: "0" },
    multiValueQueryStringParameters: { limit: ["0"] },
    pathParameters: { id: "not-a-uuid" },
    stageVariables: null,
    requestContext: {
      requestId: "cold-start-request",
      stage: "bench",
      resourcePath: "/items/{id}",
      httpMethod: "GET",
      path: "/bench/items/not-a-uuid",
    },
    body: null,
    isBase64Encoded: false,
  };
}

function lambdaContext(): Record<string, unknown> {
  const deadline = Date.now() + 10000;
  return {
    awsRequestId: "cold-start-request",
    functionName: "bench",
    memoryLimitInMB: "256",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

async function main(): Promise<void> {
  const [target, resultFile] = process.argv.slice(2);
  if (target === undefined || resultFile === undefined) {
    throw new Error("usage: runner.js <module.js> <result.json>");
  }
  const bootMs = performance.now();
  const cpu = process.cpuUsage();
  const started = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(target) as { handler?: unknown };
  const initMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const sample: ColdSample = { bootMs, initMs, initCpuMs: (used.user + used.system) / 1000, rssMb: 0, heapUsedMb: 0 };
  if (typeof loaded.handler === "function") {
    const response = (await loaded.handler(notFoundEvent(), lambdaContext())) as { statusCode?: number };
    sample.firstResponseMs = performance.now() - started;
    sample.status = response.statusCode;
  }
  const memory = process.memoryUsage();
  sample.rssMb = memory.rss / 2 ** 20;
  sample.heapUsedMb = memory.heapUsed / 2 ** 20;
  writeFileSync(resultFile, JSON.stringify(sample));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
