/**
 * Local load: the local runtime in child processes (bench/runtime-child.ts, as `npm start` runs
 * it), one per wiring (the design's and the naive baseline's), driven by autocannon from this one
 * at a fixed number of connections: a get, a list page, a create. The two wirings take turns in
 * short slices, so a change in the machine's other work falls on both alike. Latencies are kept
 * per response (autocannon's own histogram rounds to whole milliseconds); each runtime process
 * reports its CPU time before and after its slices.
 */
import { ChildProcess, fork } from "child_process";
import { join } from "path";
import { performance } from "perf_hooks";
import autocannon from "autocannon";
import type { Wiring } from "./runtime-child";

export interface LoadOptions {
  connections: number;
  /** Measured slices per wiring and operation, taken in turn with the other wiring. */
  slices: number;
  sliceSeconds: number;
  warmupSeconds: number;
  /** Items created before measuring, so a list page is a full page. */
  seedItems: number;
}

export interface LoadFigure {
  wiring: Wiring;
  operation: "get" | "list page" | "create";
  /** 2xx responses per second of the measured slices, as they took. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Other statuses, connection errors and timeouts. */
  errors: number;
  /** CPU time of the runtime process (gateway, handlers, SDK and engine) per 2xx response. */
  cpuMsPerRequest: number;
}

const CREATE_BODY = JSON.stringify({ name: "bench item", description: "created by npm run bench", color: "red" });

interface Runtime {
  child: ChildProcess;
  url: string;
  /** The headers of the signed-in user every request is sent as (none on a stack without sign-in). */
  user: Record<string, string>;
}

function startRuntime(wiring: Wiring): Promise<Runtime> {
  const child = fork(join(__dirname, "runtime-child.ts"), [wiring], {
    execArgv: ["-r", join(__dirname, "..", "local", "swc-register.cjs")],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => {
      const { url, authorization } = message as { url: string; authorization: string };
      resolve({ child, url, user: authorization === "" ? {} : { authorization } });
    });
    child.once("exit", (code) => reject(new Error(`the local runtime (${wiring}) exited with ${code}`)));
    child.once("error", reject);
  });
}

/** The runtime process's CPU time so far (user + system), asked over IPC. */
function cpuMsOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once("message", (usage) =>
      resolve(((usage as NodeJS.CpuUsage).user + (usage as NodeJS.CpuUsage).system) / 1000),
    );
    child.send("cpu");
  });
}

/** Creates one item through the API and returns its id. */
export async function createItem(url: string, user: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}items`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...user },
    body: CREATE_BODY,
  });
  const body = (await response.json()) as { id?: unknown };
  if (response.status !== 201 || typeof body.id !== "string") {
    throw new Error(`seeding answered ${response.status}`);
  }
  return body.id;
}

/** Runs autocannon for `seconds`; adds each 2xx latency to `latencies`, returns the other responses and errors. */
function hit(url: string, request: autocannon.Request, seconds: number, connections: number, latencies: number[]) {
  return new Promise<number>((resolve, reject) => {
    let errors = 0;
    const instance = autocannon({ url, connections, duration: seconds, requests: [request] }, (error) =>
      error ? reject(error) : resolve(errors),
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        latencies.push(responseTime);
      } else {
        errors += 1;
      }
    });
    instance.on("reqError", () => (errors += 1));
  });
}

const WIRINGS: readonly Wiring[] = ["items-api", "naive"];

export async function measureLoad(options: LoadOptions): Promise<LoadFigure[]> {
  const runtimes = await Promise.all(WIRINGS.map(startRuntime));
  try {
    const ids = await Promise.all(
      runtimes.map(async ({ url, user }) => {
        const created: string[] = [];
        while (created.length < options.seedItems) {
          created.push(...(await Promise.all(Array.from({ length: 10 }, () => createItem(url, user)))));
        }
        return created[0] ?? "";
      }),
    );
    const operations: [LoadFigure["operation"], (id: string, user: Record<string, string>) => autocannon.Request][] = [
      ["get", (id, user) => ({ method: "GET", path: `/items/${id}`, headers: user })],
      ["list page", (_id, user) => ({ method: "GET", path: "/items", headers: user })],
      [
        "create",
        (_id, user) => ({
          method: "POST",
          path: "/items",
          headers: { "content-type": "application/json", ...user },
          body: CREATE_BODY,
        }),
      ],
    ];
    const figures: LoadFigure[] = [];
    for (const [operation, requestFor] of operations) {
      const runs = runtimes.map(({ child, url, user }, index) => ({
        child,
        url,
        request: requestFor(ids[index] ?? "", user),
        latencies: [] as number[],
        errors: 0,
        seconds: 0,
        cpuMs: 0,
      }));
      for (const run of runs) {
        await hit(run.url, run.request, options.warmupSeconds, options.connections, []);
      }
      for (let slice = 0; slice < options.slices; slice++) {
        // Rotated each slice, so neither wiring always runs right after the other.
        for (let turn = 0; turn < runs.length; turn++) {
          const run = runs[(slice + turn) % runs.length];
          if (run !== undefined) {
            const cpuBefore = await cpuMsOf(run.child);
            const started = performance.now();
            run.errors += await hit(run.url, run.request, options.sliceSeconds, options.connections, run.latencies);
            run.seconds += (performance.now() - started) / 1000;
            run.cpuMs += (await cpuMsOf(run.child)) - cpuBefore;
          }
        }
      }
      for (const [index, run] of runs.entries()) {
        const sorted = Float64Array.from(run.latencies).sort();
        const percentile = (fraction: number) => sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
        figures.push({
          wiring: WIRINGS[index] ?? "items-api",
          operation,
          requestsPerSecond: sorted.length / run.seconds,
          p50Ms: percentile(0.5),
          p99Ms: percentile(0.99),
          errors: run.errors,
          cpuMsPerRequest: run.cpuMs / sorted.length,
        });
      }
    }
    return figures;
  } finally {
    for (const { child } of runtimes) {
      if (child.exitCode === null) {
        await new Promise((resolve) => {
          child.once("exit", resolve);
          child.kill("SIGTERM");
        });
      }
    }
  }
}
