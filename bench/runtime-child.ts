/**
 * Child-process entry of the load benchmark: the local runtime as `npm start` runs it (dev stack
 * settings, the embedded engine in memory in the same process), serving one wiring:
 *
 *   runtime-child.ts items-api   the route table's handlers: clients built once per container
 *   runtime-child.ts naive       the naive baseline: the same routes wired as common examples do,
 *                                every request runs the route's factory, so it builds its
 *                                settings, SDK client and connections anew (a `callback`
 *                                instead of a `callbackFactory`)
 *
 * It sends `{ url, authorization }` over IPC once ready (the Authorization header of one user the
 * runtime's issuer signs in, on a stack with sign-in; empty without), answers any message with its `process.cpuUsage()`, and
 * stops on SIGTERM or when the parent goes away.
 */
import type { ProxyHandler } from "../handlers/http";
import { routes } from "../infra/routes";
import { startLocalApi } from "../local/server";
import { readStackSettings } from "../local/stack-settings";

export type Wiring = "items-api" | "naive";

async function main(): Promise<void> {
  const wiring = process.argv[2];
  if (wiring !== "items-api" && wiring !== "naive") {
    throw new Error("usage: runtime-child.ts items-api | naive");
  }
  const naive =
    (factory: () => ProxyHandler): ProxyHandler =>
    (event, context) =>
      factory()(event, context);
  const api = await startLocalApi({
    settings: readStackSettings("dev"),
    stack: "dev",
    handlers:
      wiring === "naive"
        ? Object.fromEntries(routes.map((route) => [route.operationId, naive(route.handlerFactory)]))
        : undefined,
    accessLog: () => undefined,
  });
  // The naive handlers read their settings from the environment on every call, as such a Lambda does.
  Object.assign(process.env, api.environment);
  const stop = () => void api.close().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("disconnect", stop);
  // Asked before and after each measured slice: the CPU time the wiring cost.
  process.on("message", () => process.send?.(process.cpuUsage()));
  const authorization = api.issuer === undefined ? "" : await api.issuer.token("bench");
  process.send?.({ url: api.url, authorization });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
