/**
 * Local load: the local runtime in a child process (bench/runtime-child.ts, as `npm start` runs
 * it), driven by autocannon from this one at a fixed number of connections, for the design's
 * wiring and for the naive baseline's, one operation after another: a get, a list page, a create.
 */
import { ChildProcess, fork } from "child_process";
import { join } from "path";
import autocannon from "autocannon";
import type { Wiring } from "./runtime-child";

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Items created before measuring, so a list page is a full page. */
  seedItems: number;
}

export interface LoadFigure {
  wiring: Wiring;
  operation: "get" | "list page" | "create";
  /** 2xx responses per second of the measured window. */
  requestsPerSecond: number;
  /** autocannon's histogram, whole milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Other statuses, connection errors and timeouts. */
  errors: number;
}

const CREATE_BODY = JSON.stringify({ name: "bench item", description: "created by npm run bench", color: "red" });

function startRuntime(wiring: Wiring): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(__dirname, "runtime-child.ts"), [wiring], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, url: (message as { url: string }).url }));
    child.once("exit", (code) => reject(new Error(`the local runtime (${wiring}) exited with ${code}`)));
    child.once("error", reject);
  });
}

/** Creates one item through the API and returns its id. */
export async function createItem(url: string): Promise<string> {
  const response = await fetch(`${url}items`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: CREATE_BODY,
  });
  const body = (await response.json()) as { id?: unknown };
  if (response.status !== 201 || typeof body.id !== "string") {
    throw new Error(`seeding answered ${response.status}`);
  }
  return body.id;
}

function hit(url: string, request: autocannon.Request, seconds: number, connections: number) {
  return autocannon({ url, connections, duration: seconds, requests: [request] });
}

export async function measureLoad(wiring: Wiring, options: LoadOptions): Promise<LoadFigure[]> {
  const { child, url } = await startRuntime(wiring);
  try {
    const ids: string[] = [];
    while (ids.length < options.seedItems) {
      ids.push(...(await Promise.all(Array.from({ length: 10 }, () => createItem(url)))));
    }
    const requests: [LoadFigure["operation"], autocannon.Request][] = [
      ["get", { method: "GET", path: `/items/${ids[0]}` }],
      ["list page", { method: "GET", path: "/items" }],
      [
        "create",
        { method: "POST", path: "/items", headers: { "content-type": "application/json" }, body: CREATE_BODY },
      ],
    ];
    const figures: LoadFigure[] = [];
    for (const [operation, request] of requests) {
      if (options.warmupSeconds > 0) {
        await hit(url, request, options.warmupSeconds, options.connections);
      }
      const result = await hit(url, request, options.durationSeconds, options.connections);
      figures.push({
        wiring,
        operation,
        requestsPerSecond: result["2xx"] / result.duration,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.non2xx + result.errors + result.timeouts,
      });
    }
    return figures;
  } finally {
    if (child.exitCode === null) {
      await new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGTERM");
      });
    }
  }
}
