/**
 * `npm start [-- --stack NAME]`: the Items API on localhost.
 *
 * Environment: HOST (127.0.0.1), PORT (3000), DATA_DIR (.data/<stack>), API_KEY (when the stack requires
 * keys; generated otherwise), LAMBDA_TIMEOUT_MS (overrides the stack's timeout), and the handler
 * variables (handlers/env.ts) naming the DynamoDB endpoint (another engine instead of the embedded
 * one), the two tables and the cursor secret.
 */
import { HANDLER_VARIABLES } from "../handlers/env";
import { startLocalApi } from "./server";
import { localDataDir, readStackSettings, stackArgument } from "./stack-settings";

function port(raw: string | undefined): number {
  const value = Number(raw ?? "3000");
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`PORT must be a port number, got "${raw}"`);
  }
  return value;
}

function optionalInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") {
    return undefined;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  }
  return value;
}

async function main(): Promise<void> {
  const stack = stackArgument(process.argv.slice(2));
  const settings = readStackSettings(stack);
  const endpoint = process.env[HANDLER_VARIABLES.dynamoDbEndpoint];
  const items = process.env[HANDLER_VARIABLES.tableName];
  const idempotency = process.env[HANDLER_VARIABLES.idempotencyTableName];
  // One folder per stack by default, so `--stack prod` never sees dev's items. With another
  // endpoint it holds no engine, but still the token issuer's key and the cursor secret: `npm run
  // token` signs with the key in the stack's folder, and both outlive a restart.
  const dataDir = localDataDir(stack);
  const api = await startLocalApi({
    settings,
    stack,
    host: process.env.HOST ?? "127.0.0.1",
    port: port(process.env.PORT),
    dataDir,
    dynamoDbEndpoint: endpoint,
    tableNames:
      items === undefined && idempotency === undefined
        ? undefined
        : { items: items ?? "items-api-local-items", idempotency: idempotency ?? "items-api-local-idempotency" },
    apiKey: process.env.API_KEY,
    timeoutMs: optionalInteger("LAMBDA_TIMEOUT_MS"),
  });
  if (api.apiKey !== undefined) {
    process.stdout.write(`apiKey: ${api.apiKey}\n`);
  }
  if (api.issuer !== undefined) {
    process.stdout.write(
      `sign-in: send an ID token of the local user pool in Authorization: npm run -s token -- --user NAME${stack === "dev" ? "" : ` --stack ${stack}`}\n` +
        "sign-in: DynamoDB calls use this process's credentials: per-user STS sessions need AWS (the tests prove their policy)\n",
    );
  }
  process.stdout.write(`stack: ${stack}\n`);
  process.stdout.write(
    `data: ${endpoint === undefined ? dataDir : `${endpoint} (token key and cursor secret in ${dataDir})`}\n`,
  );
  process.stdout.write(`apiUrl: ${api.url}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    process.stdout.write(`${signal}: finishing requests in flight, then stopping\n`);
    api.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
