/**
 * Starts DynamoDB Local (AWS's own emulator, shipped in the npm dev dependency
 * amplify-dynamodb-simulator) in memory on a free loopback port: the second engine the contract
 * suite runs against, for what dynalite lacks (ReturnValuesOnConditionCheckFailure, TTL, ...).
 * The jar is used in place under node_modules; its licence forbids redistributing it.
 */
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import { createServer } from "net";
import * as path from "path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Kills the java process and resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 100;
const STOP_GRACE_MS = 5_000;
/** A free port can be taken between our probe and java binding it: try again on a new one. */
const START_ATTEMPTS = 3;

function emulatorDirectory(): string {
  return path.join(path.dirname(require.resolve("amplify-dynamodb-simulator/package.json")), "emulator");
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") {
    throw new Error("could not find a free port");
  }
  return address.port;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  // No pid: java never started, and no `exit` event is guaranteed to follow.
  if (child.pid === undefined || exited(child)) {
    return;
  }
  const exit = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  try {
    await exit;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls ListTables until the engine answers, the process dies or the timeout passes. */
async function waitUntilReady(child: ChildProcess, endpoint: string, output: () => string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  try {
    for (;;) {
      if (exited(child)) {
        throw new Error(`DynamoDB Local exited during startup (code ${child.exitCode}):\n${output()}`);
      }
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer ListTables within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`, {
            cause: error,
          });
        }
      }
      await delay(POLL_INTERVAL_MS);
    }
  } finally {
    client.destroy();
  }
}

async function startOnce(): Promise<DynamoDbLocal> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(
    "java",
    [
      "-Djava.library.path=./DynamoDBLocal_lib",
      "-jar",
      "DynamoDBLocal.jar",
      "-inMemory",
      "-sharedDb",
      "-port",
      String(port),
      "-disableTelemetry",
    ],
    { cwd: emulatorDirectory(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer): void => {
    // Keep the tail only: enough to explain a failed start.
    output = (output + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const spawnFailed = new Promise<never>((_, reject) => {
    child.once("error", (error) => reject(new Error(`could not start java for DynamoDB Local: ${error.message}`)));
  });
  // A synchronous kill is all an `exit` listener may do; it keeps a crashed or interrupted test
  // run from leaving a java process behind.
  const killOnExit = (): void => {
    if (!exited(child)) {
      child.kill("SIGKILL");
    }
  };
  process.on("exit", killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= stopProcess(child).finally(() => process.removeListener("exit", killOnExit));
    return stopped;
  };
  try {
    await Promise.race([waitUntilReady(child, endpoint, () => output), spawnFailed]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce();
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
