/**
 * One cold start, in a fresh Node process: require a Lambda module (a serialized `__index.js`,
 * whose last line runs the route's factory, so this is Lambda's init phase: load + factory; or
 * the floor), then, when it exports a handler, answer one request that every route refuses
 * before any DynamoDB call: GET /items/not-a-uuid?limit=0 (404 for the routes with an id, 400 for
 * a list, 415 for a create; on a stack with sign-in, 401: the request carries no token, and one
 * that did would first take an STS session). The bench transpiles this file and handlers/events.ts to plain
 * JavaScript (bench/out/cold/), so no TypeScript loader sits in the measured process.
 *
 *   node cold-runner.js <module.js>      prints one ColdSample as JSON, on the last line
 */
import { performance } from "perf_hooks";
import type * as Events from "../handlers/events";

export interface ColdSample {
  /** require() of the module: load + factory. */
  initMs: number;
  /** CPU time (user + system, all threads) spent in initMs. */
  initCpuMs: number;
  /** The first request, from the handler's call to its response. */
  firstResponseMs?: number;
  status?: number;
  /** Resident set size after the first response (or after init). */
  rssMb: number;
}

async function main(): Promise<void> {
  const target = process.argv[2];
  if (target === undefined) {
    throw new Error("usage: cold-runner.js <module.js>");
  }
  const cpu = process.cpuUsage();
  const started = performance.now();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(target) as { handler?: unknown };
  const initMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const sample: ColdSample = { initMs, initCpuMs: (used.user + used.system) / 1000, rssMb: 0 };
  if (typeof loaded.handler === "function") {
    // Loaded after the measured init, so the module pays for its own imports.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const events = require("../handlers/events") as typeof Events;
    const event = events.proxyEvent({
      method: "GET",
      path: "/items/not-a-uuid",
      resource: "/items/{id}",
      pathParameters: { id: "not-a-uuid" },
      query: [["limit", "0"]],
    });
    const answering = performance.now();
    const response = (await loaded.handler(event, events.lambdaContext())) as { statusCode?: number };
    sample.firstResponseMs = performance.now() - answering;
    sample.status = response.statusCode;
  }
  sample.rssMb = process.memoryUsage().rss / 2 ** 20;
  // On a line of its own: the handler may have logged before it.
  process.stdout.write(`\n${JSON.stringify(sample)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
