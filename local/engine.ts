/**
 * The DynamoDB side of the local runtime: the embedded engine (dynalite, in memory or persisted
 * to a folder) or any other endpoint, and the tables created from the infrastructure's own
 * definitions.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { AddressInfo } from "net";
import { join } from "path";
import dynalite from "dynalite";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { TABLES, TableDefinition } from "../infra/table-definitions";

export interface Engine {
  endpoint: string;
  close(): Promise<void>;
}

/** Data folders this process holds (a second runtime in the same process is refused too). */
const heldDataDirs = new Set<string>();

/** The lock file a runtime keeps in its data folder, holding its process id. */
export const DATA_LOCK_FILE = ".items-api.lock";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data folder for this process, or throws naming it: LevelDB allows one process per
 * folder, and dynalite reports a second one only later, as "Database is closed". A lock left by a
 * process that no longer runs (killed) is taken over. Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, DATA_LOCK_FILE);
  mkdirSync(dataDir, { recursive: true });
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(file, "utf8").trim());
  } catch {
    holder = undefined;
  }
  const inUse =
    heldDataDirs.has(dataDir) ||
    (holder !== undefined && Number.isInteger(holder) && holder !== process.pid && processAlive(holder));
  if (inUse) {
    throw new Error(
      `the data folder ${dataDir} is in use by another local runtime (npm start${heldDataDirs.has(dataDir) ? " in this process" : `, process ${holder}`}): ` +
        "stop it first, or start this one on another folder, e.g. DATA_DIR=$(mktemp -d) npm start",
    );
  }
  writeFileSync(file, String(process.pid));
  heldDataDirs.add(dataDir);
  return () => {
    heldDataDirs.delete(dataDir);
    rmSync(file, { force: true });
  };
}

/** Starts dynalite on a loopback port; `dataDir` persists it (LevelDB), otherwise in memory. */
export async function startEmbeddedEngine(dataDir: string | undefined): Promise<Engine> {
  const release = dataDir === undefined ? () => undefined : lockDataDir(dataDir);
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    release();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Handler clients keep connections alive; they must not hold the shutdown up.
        server.closeAllConnections();
        server.close((error) => {
          release();
          return error ? reject(error) : resolve();
        });
      }),
  };
}

export function engineClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, maxAttempts: 3 });
}

/** Creates each table unless it exists, then waits for it to be active; enables TTL where the engine can. */
export async function ensureTables(
  client: DynamoDBClient,
  tables: { definition: TableDefinition; name: string }[],
): Promise<void> {
  for (const { definition, name } of tables) {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [
            { AttributeName: definition.hashKey, AttributeType: "S" },
            { AttributeName: definition.rangeKey, AttributeType: "S" },
          ],
          KeySchema: [
            { AttributeName: definition.hashKey, KeyType: "HASH" },
            { AttributeName: definition.rangeKey, KeyType: "RANGE" },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) {
        throw error;
      }
    }
    for (let waited = 0; ; waited += 50) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      const keys = (Table?.KeySchema ?? []).map((key) => `${key.AttributeName}:${key.KeyType}`).join(",");
      if (keys !== `${definition.hashKey}:HASH,${definition.rangeKey}:RANGE`) {
        throw new Error(
          `table ${name} has the key schema ${keys}, not ${definition.hashKey} and ${definition.rangeKey}: it was made by an earlier version. Start on another data folder (DATA_DIR) or delete this one`,
        );
      }
      if (Table?.TableStatus === "ACTIVE") {
        break;
      }
      if (waited > 10000) {
        throw new Error(`table ${name} did not become active`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (definition.ttlAttribute !== undefined) {
      await enableTimeToLive(client, name, definition.ttlAttribute);
    }
  }
}

/** The API's tables (table-definitions.ts), under these names, at `endpoint`: `ensureTables`. */
export async function ensureApiTables(
  endpoint: string,
  tableNames: Record<TableDefinition["logicalName"], string>,
): Promise<void> {
  const client = engineClient(endpoint);
  try {
    await ensureTables(
      client,
      TABLES.map((definition) => ({ definition, name: tableNames[definition.logicalName] })),
    );
  } finally {
    client.destroy();
  }
}

async function enableTimeToLive(client: DynamoDBClient, table: string, attribute: string): Promise<void> {
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (error) {
    // dynalite has no TTL (expired records are still refused by the handlers, which compare
    // `expiresAt` themselves); an already-enabled TTL is also reported as an error.
    const name = error instanceof Error ? error.name : "";
    if (!["UnknownOperationException", "ValidationException"].includes(name)) {
      throw error;
    }
  }
}
