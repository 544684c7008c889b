/**
 * Child-process entry of the load benchmark: the local runtime (`startLocalApi`, dev stack
 * settings) with the embedded engine in the same process, as `npm start` runs them (in memory
 * here, so runs do not see each other's data). The parent forks it with an IPC channel, and it
 * answers one message, `{ url, endpoint, environment }`, once it is ready.
 *
 *   runtime-child.ts source                 the route table's factories (what `npm start` serves)
 *   runtime-child.ts modules <modules.json> `{ operationId: "/path/to/__index.js" }`, e.g. the
 *                                          serialized archives or the naive baseline's
 *
 * Serialized `__index.js` modules run their factory when required, so the handler environment is
 * in `process.env` before they load; it stays there (the naive baseline reads it on every call).
 * Access log lines go to stdout, which the parent points at /dev/null.
 */
import { readFileSync } from "fs";
import type { ProxyHandler } from "../handlers/http";
import { startEmbeddedEngine } from "../local/engine";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";

export interface RuntimeReady {
  url: string;
  endpoint: string;
  environment: Record<string, string>;
}

export const BENCH_TABLES = { items: "items-api-bench-items", idempotency: "items-api-bench-idempotency" };

/** What the local runtime gives its handlers (see `startLocalApi`), for modules that load before it starts. */
export function handlerEnvironment(endpoint: string): Record<string, string> {
  return {
    TABLE_NAME: BENCH_TABLES.items,
    IDEMPOTENCY_TABLE_NAME: BENCH_TABLES.idempotency,
    CURSOR_SECRET: "items-api-bench-cursor-secret-0123456789",
    CORS_ALLOWED_ORIGINS: "*",
    LOG_LEVEL: "warn",
    DYNAMODB_ENDPOINT: endpoint,
  };
}

function loadModules(file: string): Record<string, ProxyHandler> {
  const paths = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(paths).map(([operationId, path]) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const handler: unknown = (require(path) as { handler?: unknown }).handler;
      if (typeof handler !== "function") {
        throw new Error(`${path} exports no handler function`);
      }
      return [operationId, handler as ProxyHandler];
    }),
  );
}

async function main(): Promise<void> {
  const [mode, modulesFile] = process.argv.slice(2);
  if (mode !== "source" && !(mode === "modules" && modulesFile !== undefined)) {
    throw new Error("usage: runtime-child.ts source | modules <modules.json>");
  }
  process.env.AWS_REGION ??= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ??= "bench";
  process.env.AWS_SECRET_ACCESS_KEY ??= "bench";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const engine = await startEmbeddedEngine(undefined);
  const environment = handlerEnvironment(engine.endpoint);
  Object.assign(process.env, environment);
  const handlers = mode === "modules" && modulesFile !== undefined ? loadModules(modulesFile) : undefined;
  const api = await startLocalApi({
    settings: readStackSettings("dev"),
    dynamoDbEndpoint: engine.endpoint,
    tableNames: BENCH_TABLES,
    handlers,
    environment,
  });
  const stop = () => {
    void api
      .close()
      .then(() => engine.close())
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("disconnect", stop);
  const ready: RuntimeReady = { url: api.url, endpoint: engine.endpoint, environment };
  process.send?.(ready);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
