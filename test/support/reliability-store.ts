/**
 * What the API's tables hold, read behind the API's back: a full, consistent Scan of each table
 * through @aws-sdk/lib-dynamodb, serialized exactly (numbers kept as DynamoDB's decimal strings,
 * sets and binaries spelled out), so that two snapshots are equal only when not one byte of
 * stored data changed.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";

export interface TableNames {
  items: string;
  idempotency: string;
}

/** One serialized record per line, sorted by key, per table. */
export interface StoreSnapshot {
  items: string[];
  idempotency: string[];
}

export interface StoreReader {
  snapshot(): Promise<StoreSnapshot>;
  /** The items table as records (numbers as plain JS numbers), for assertions on content. */
  items(): Promise<Record<string, unknown>[]>;
  destroy(): void;
}

/** JSON.stringify replacer: lib-dynamodb's NumberValue, Set and Uint8Array written out in full. */
function exact(_key: string, value: unknown): unknown {
  if (value instanceof Set) {
    return { $set: [...value] };
  }
  if (value instanceof Uint8Array) {
    return { $binary: Buffer.from(value).toString("base64") };
  }
  return value;
}

function keyOf(record: Record<string, unknown>): string {
  return typeof record.id === "string" ? record.id : JSON.stringify(record, exact);
}

export function storeReader(endpoint: string, tables: TableNames): StoreReader {
  // One client each: a document client shares its client's config, translation options included.
  const exactClient = new DynamoDBClient({ endpoint, maxAttempts: 1 });
  const plainClient = new DynamoDBClient({ endpoint, maxAttempts: 1 });
  const exactDoc = DynamoDBDocumentClient.from(exactClient, { unmarshallOptions: { wrapNumbers: true } });
  const plainDoc = DynamoDBDocumentClient.from(plainClient);

  async function scan(doc: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
    const records: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      records.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return records.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  }

  async function serializedTable(table: string): Promise<string[]> {
    return (await scan(exactDoc, table)).map((record) => JSON.stringify(record, exact));
  }

  return {
    snapshot: async () => ({
      items: await serializedTable(tables.items),
      idempotency: await serializedTable(tables.idempotency),
    }),
    items: () => scan(plainDoc, tables.items),
    destroy: () => {
      exactClient.destroy();
      plainClient.destroy();
    },
  };
}

/** A short account of what differs between two snapshots, for assertion messages; "" when equal. */
export function describeChange(before: StoreSnapshot, after: StoreSnapshot): string {
  const lines: string[] = [];
  for (const table of ["items", "idempotency"] as const) {
    const removed = before[table].filter((record) => !after[table].includes(record));
    const added = after[table].filter((record) => !before[table].includes(record));
    for (const record of removed) {
      lines.push(`${table} - ${record.slice(0, 400)}`);
    }
    for (const record of added) {
      lines.push(`${table} + ${record.slice(0, 400)}`);
    }
  }
  return lines.join("\n");
}

/** JSON with object keys sorted: deep-equal values give equal text, whatever key order a store kept. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
