/**
 * The handlers exactly as they would ship: runs the Pulumi program under mocks for a stack,
 * takes each function's `__index.js` from its CallbackFunction archive, loads it, and returns
 * its `handler` export by operationId. Run the HTTP contract suite through these to prove that
 * closure serialization kept everything the handlers need (serialized parity).
 *
 * When the environment is read: CallbackFunction serializes a `callbackFactory` so that the
 * module ends with `exports.handler = <factory>();`, i.e. the factory runs once, when the module
 * is first required (Lambda's init phase), not on the first call. Our factories build their
 * dependencies right then (`createDependencies()` -> `readSettings(process.env)`), so TABLE_NAME,
 * IDEMPOTENCY_TABLE_NAME, CURSOR_SECRET, CORS_ALLOWED_ORIGINS, DYNAMODB_ENDPOINT, ... must be in
 * `options.env` (they are set in process.env while the modules load, then restored). The AWS SDK
 * resolves region and credentials lazily, on the first request: keep AWS_REGION and the dummy
 * credentials in process.env (test/support/setup.ts does).
 *
 * The files are written under node_modules/.cache (inside the project, so that their
 * `require("@aws-sdk/...")` resolves against the project's node_modules, as Lambda's resolves
 * against the runtime's) and deleted once loaded.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import type { ProxyHandler } from "../../handlers/http";
import { withEnvironmentSync } from "../../local/environment";
import { PROJECT_ROOT, ProgramSnapshot, stackSnapshot } from "./program-snapshot";

export interface SerializedFunction {
  operationId: string;
  /** CallbackFunction resource name, e.g. `getItem-function`. */
  resourceName: string;
  /** The `__index.js` text that would ship. */
  code: string;
}

/** Each route function's serialized code, by operationId, from a program snapshot. */
export function serializedFunctions(snapshot: ProgramSnapshot): Record<string, SerializedFunction> {
  const functionNames = snapshot.outputs.functionNames?.value as Record<string, string> | undefined;
  if (functionNames === undefined) {
    throw new Error("the program exports no functionNames");
  }
  return Object.fromEntries(
    Object.entries(functionNames).map(([operationId, functionName]) => {
      const resource = snapshot.resources.find(
        (candidate) => candidate.type === "aws:lambda/function:Function" && candidate.inputs.name === functionName,
      );
      const archive = resource === undefined ? undefined : snapshot.archives[resource.name];
      if (resource === undefined || archive === undefined || archive.indexJs === "") {
        throw new Error(`no serialized code for ${operationId} (${functionName})`);
      }
      return [operationId, { operationId, resourceName: resource.name, code: archive.indexJs }];
    }),
  );
}

/** Requires each code text from a fresh file with `env` applied; returns the `handler` exports. */
export function loadHandlerModules(
  codes: Record<string, string>,
  env: Record<string, string>,
): Record<string, unknown> {
  const cacheDir = join(PROJECT_ROOT, "node_modules", ".cache");
  mkdirSync(cacheDir, { recursive: true });
  const dir = mkdtempSync(join(cacheDir, "items-api-serialized-"));
  try {
    return withEnvironmentSync(env, () =>
      Object.fromEntries(
        Object.entries(codes).map(([name, code]) => {
          const file = join(dir, name, "__index.js");
          mkdirSync(join(dir, name));
          writeFileSync(file, code);
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const loaded = require(file) as { handler?: unknown };
          delete require.cache[file];
          return [name, loaded.handler];
        }),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LoadSerializedHandlersOptions {
  /** Handler environment (TABLE_NAME, IDEMPOTENCY_TABLE_NAME, CURSOR_SECRET, DYNAMODB_ENDPOINT, ...). */
  env: Record<string, string>;
}

/** The serialized `handler` of every route of `stack`, by operationId. */
export async function loadSerializedHandlers(
  stack: string,
  options: LoadSerializedHandlersOptions,
): Promise<Record<string, ProxyHandler>> {
  const functions = serializedFunctions(await stackSnapshot(stack));
  const loaded = loadHandlerModules(
    Object.fromEntries(Object.values(functions).map((fn) => [fn.operationId, fn.code])),
    options.env,
  );
  return Object.fromEntries(
    Object.entries(loaded).map(([operationId, handler]) => {
      if (typeof handler !== "function") {
        throw new Error(`the serialized ${operationId} module exports no handler function`);
      }
      return [operationId, handler as ProxyHandler];
    }),
  );
}
