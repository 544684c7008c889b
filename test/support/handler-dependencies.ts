/**
 * For tests that call operations directly: the embedded engine with the tables, and handler
 * dependencies: the environment built by
 * handlers/env.ts `handlerEnvironment` as a stack of the default function timeout gets it, pointed
 * at a local engine, and a logger that writes nothing (the expected 5xx logs would bury the test
 * report; tests of the request log capture their own).
 */
import { Dependencies, createDependencies } from "../../handlers/dependencies";
import { DynamoDbOptions, handlerEnvironment } from "../../handlers/env";
import { createLogger } from "../../handlers/logger";
import { Engine, ensureApiTables, startEmbeddedEngine } from "../../local/engine";

export interface TestTables {
  items: string;
  idempotency: string;
}

/** The dev stack's Lambda timeout: attempts and per-attempt timeout as deployed, unless overridden. */
const FUNCTION_TIMEOUT_SECONDS = 10;

/** The embedded engine, in memory, holding the two tables under these names. */
export async function startTestEngine(tableNames: TestTables): Promise<Engine> {
  const engine = await startEmbeddedEngine(undefined);
  await ensureApiTables(engine.endpoint, tableNames);
  return engine;
}

export function testDependencies(
  endpoint: string,
  tableNames: TestTables,
  dynamoDb: Omit<DynamoDbOptions, "endpoint"> = {},
): Dependencies {
  const deps = createDependencies(
    handlerEnvironment({
      tableNames,
      cursorSecret: "test-secret",
      settings: { corsAllowedOrigins: [], logLevel: "error", lambda: { timeoutSeconds: FUNCTION_TIMEOUT_SECONDS } },
      dynamoDb: { ...dynamoDb, endpoint },
    }),
  );
  deps.log = createLogger("error", {}, () => undefined);
  return deps;
}
