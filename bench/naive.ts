/**
 * The naive baseline: the same operations, packaged and wired the way common examples do it.
 * A plain `callback` (no `callbackFactory`), so the DynamoDB client, its HTTP agent and the
 * settings are built on every call; and (see naive-child.ts) CallbackFunction's default
 * packaging, which zips AWS SDK v3 into the archive. Nothing here ships: it exists so the bench
 * can show what the design buys.
 */
import { Dependencies, createDependencies } from "../handlers/dependencies";
import { Operation, ProxyHandler, createHandler } from "../handlers/http";
import { createItem, getItem, listItems } from "../handlers/items";

/** The operations the load benchmark drives, by operationId. */
export const NAIVE_OPERATIONS: Readonly<Record<string, Operation>> = {
  getItem,
  listItems,
  createItem,
};

/**
 * A handler that builds its dependencies (and so a new SDK client) per call. `instrument` sees
 * each new set of dependencies (the bench counts DynamoDB calls with it); serialized without it.
 */
export function naiveHandler(
  operationId: string,
  operation: Operation,
  instrument?: (deps: Dependencies) => void,
): ProxyHandler {
  return async (event, context) => {
    const deps = createDependencies();
    instrument?.(deps);
    return createHandler(operationId, operation, deps)(event, context);
  };
}
