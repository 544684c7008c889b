/**
 * The DynamoDB tables as data, shared by the Pulumi resources and the local runtime, so that
 * both create the same key schema and TTL attribute.
 */

export interface TableDefinition {
  /** Used in resource names and as the key of the table's name in the handlers' environment. */
  logicalName: "items" | "idempotency";
  hashKey: string;
  /** Epoch-seconds attribute DynamoDB's TTL deletes expired records by. */
  ttlAttribute?: string;
}

export const ITEMS_TABLE: TableDefinition = {
  logicalName: "items",
  hashKey: "id",
};

/**
 * Idempotency-Key records live in a table of their own: listing is a Scan of the items table,
 * and records mixed into it would leave pages short or empty.
 */
export const IDEMPOTENCY_TABLE: TableDefinition = {
  logicalName: "idempotency",
  hashKey: "id",
  ttlAttribute: "expiresAt",
};

export const TABLES: readonly TableDefinition[] = [ITEMS_TABLE, IDEMPOTENCY_TABLE];
