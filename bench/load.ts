/**
 * Load through the local runtime vs the same DynamoDB calls made straight to the same engine.
 *
 * The runtime runs in a child process (bench/runtime-child.ts) with its embedded engine, as
 * `npm start` runs them; autocannon runs here. For the direct figures, the handler's own DynamoDB
 * requests are captured on the wire (the exact signed HTTP request its SDK client sends, taken
 * from the client's middleware stack) and replayed to the engine by autocannon at the same
 * concurrency; a create's item id is renewed per request. Latencies are recorded per response
 * with sub-millisecond precision (autocannon's own histogram rounds to whole milliseconds).
 */
import { ChildProcess, fork } from "child_process";
import { randomUUID } from "crypto";
import { join } from "path";
import { performance } from "perf_hooks";
import autocannon from "autocannon";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { createDependencies } from "../handlers/dependencies";
import { Operation, createHandler } from "../handlers/http";
import { createItem, getItem, listItems } from "../handlers/items";
import { lambdaContext, proxyEvent } from "../test/support/lambda";
import type { RuntimeReady } from "./runtime-child";

export type LoadOperation = "get" | "create" | "list";
export const LOAD_OPERATIONS: readonly LoadOperation[] = ["get", "list", "create"];

export interface LoadFigures {
  /** Responses with the expected status per second of the measured window. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses with another status, and connection errors. */
  errors: number;
}

export interface OperationLoad {
  operation: LoadOperation;
  api: LoadFigures;
  direct: LoadFigures;
  /** api p50 / direct p50. */
  p50Ratio: number;
  /** direct throughput / api throughput. */
  throughputRatio: number;
}

export interface LoadOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Items created before measuring, so a list page is a full page. */
  seedItems: number;
}

export interface RuntimeVariant {
  /** Row label. */
  name: string;
  /** `source`, or `modules` with a JSON file naming each operation's `__index.js`. */
  args: string[];
}

/** The body every create sends (a name, a description and two client attributes). */
export const CREATE_BODY = JSON.stringify({
  name: "bench item",
  description: "created by npm run bench",
  color: "red",
  size: 3,
});

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Target {
  request: RawRequest;
  expectedStatus: number;
  /** Rewrites the body per request (a new item id for direct creates). */
  perRequest?: (body: string) => string;
}

function startRuntime(variant: RuntimeVariant): Promise<{ child: ChildProcess; ready: RuntimeReady }> {
  const child = fork(join(__dirname, "runtime-child.ts"), variant.args, {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, ready: message as RuntimeReady }));
    child.once("exit", (code) => reject(new Error(`the local runtime (${variant.name}) exited with ${code}`)));
    child.once("error", reject);
  });
}

function stopRuntime(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

async function seed(url: string, count: number): Promise<string> {
  let id = "";
  for (let done = 0; done < count; done += 10) {
    const responses = await Promise.all(
      Array.from({ length: Math.min(10, count - done) }, () =>
        fetch(`${url}items`, { method: "POST", headers: { "Content-Type": "application/json" }, body: CREATE_BODY }),
      ),
    );
    for (const response of responses) {
      const body = (await response.json()) as { id?: string };
      if (response.status !== 201 || typeof body.id !== "string") {
        throw new Error(`seeding answered ${response.status}`);
      }
      id = body.id;
    }
  }
  return id;
}

/**
 * Runs the handler's operation once in this process against the engine and returns the HTTP
 * request its SDK client sent, exactly as signed.
 */
async function captureDynamoDbRequest(
  environment: Record<string, string>,
  operation: Operation,
  event: APIGatewayProxyEvent,
): Promise<RawRequest> {
  const deps = createDependencies(environment);
  const sent: RawRequest[] = [];
  deps.doc.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string>; body: unknown };
      const raw = request.body;
      // The SDK's JSON body is a Uint8Array subclass that warns when used as a string: copy its bytes.
      const body =
        raw instanceof Uint8Array
          ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8")
          : String(raw);
      sent.push({ method: request.method, path: request.path, headers: { ...request.headers }, body });
      return next(args);
    },
    { step: "deserialize", name: "benchCaptureRequest" },
  );
  const response = await createHandler("bench", operation, deps)(event, lambdaContext());
  deps.doc.destroy();
  const [request] = sent;
  if (sent.length !== 1 || request === undefined || response.statusCode >= 300) {
    throw new Error(`capturing ${event.httpMethod} ${event.path}: ${sent.length} calls, status ${response.statusCode}`);
  }
  // autocannon sets these itself.
  const { host: _host, "content-length": _length, ...headers } = request.headers;
  return { ...request, headers };
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) {
    return NaN;
  }
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

function hit(base: string, target: Target, connections: number, seconds: number): Promise<LoadFigures> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const perRequest = target.perRequest;
    let errors = 0;
    const started = performance.now();
    const instance = autocannon(
      {
        url: base,
        connections,
        duration: seconds,
        method: target.request.method as autocannon.Request["method"],
        headers: target.request.headers,
        requests: [
          {
            method: target.request.method as autocannon.Request["method"],
            path: target.request.path,
            headers: target.request.headers,
            body: target.request.body,
            ...(perRequest === undefined
              ? {}
              : {
                  setupRequest: (request: autocannon.Request) => ({
                    ...request,
                    body: perRequest(String(request.body)),
                  }),
                }),
          },
        ],
      },
      (error) => {
        if (error) {
          reject(error);
          return;
        }
        const elapsed = (performance.now() - started) / 1000;
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          requestsPerSecond: latencies.length / elapsed,
          p50Ms: percentile(sorted, 0.5),
          p99Ms: percentile(sorted, 0.99),
          requests: latencies.length,
          errors,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === target.expectedStatus) {
        latencies.push(responseTime);
      } else {
        errors += 1;
      }
    });
    instance.on("reqError", () => {
      errors += 1;
    });
  });
}

async function measure(base: string, target: Target, options: LoadOptions): Promise<LoadFigures> {
  if (options.warmupSeconds > 0) {
    await hit(base, target, options.connections, options.warmupSeconds);
  }
  return hit(base, target, options.connections, options.durationSeconds);
}

/** One runtime variant: get, one list page and create, each through the runtime and direct. */
export async function measureRuntimeLoad(variant: RuntimeVariant, options: LoadOptions): Promise<OperationLoad[]> {
  const { child, ready } = await startRuntime(variant);
  try {
    const id = await seed(ready.url, options.seedItems);
    const environment = ready.environment;
    const getEvent = proxyEvent({
      method: "GET",
      path: `/items/${id}`,
      resource: "/items/{id}",
      pathParameters: { id },
    });
    const listEvent = proxyEvent({ method: "GET", path: "/items", resource: "/items" });
    const createEvent = proxyEvent({ method: "POST", path: "/items", resource: "/items", body: CREATE_BODY });
    const directCreate = await captureDynamoDbRequest(environment, createItem, createEvent);
    const createdId = /"id":\{"S":"([0-9a-f-]{36})"\}/.exec(directCreate.body ?? "")?.[1];
    if (createdId === undefined) {
      throw new Error("the captured PutItem carries no item id");
    }
    const targets: Record<LoadOperation, { api: Target; direct: Target }> = {
      get: {
        api: { request: { method: "GET", path: `/items/${id}`, headers: {} }, expectedStatus: 200 },
        direct: { request: await captureDynamoDbRequest(environment, getItem, getEvent), expectedStatus: 200 },
      },
      list: {
        api: { request: { method: "GET", path: "/items", headers: {} }, expectedStatus: 200 },
        direct: { request: await captureDynamoDbRequest(environment, listItems, listEvent), expectedStatus: 200 },
      },
      create: {
        api: {
          request: {
            method: "POST",
            path: "/items",
            headers: { "content-type": "application/json" },
            body: CREATE_BODY,
          },
          expectedStatus: 201,
        },
        direct: {
          request: directCreate,
          expectedStatus: 200,
          perRequest: (body) => body.replace(createdId, randomUUID()),
        },
      },
    };
    const results: OperationLoad[] = [];
    for (const operation of LOAD_OPERATIONS) {
      const api = await measure(ready.url, targets[operation].api, options);
      const direct = await measure(ready.endpoint, targets[operation].direct, options);
      results.push({
        operation,
        api,
        direct,
        p50Ratio: api.p50Ms / direct.p50Ms,
        throughputRatio: direct.requestsPerSecond / api.requestsPerSecond,
      });
    }
    return results;
  } finally {
    await stopRuntime(child);
  }
}
