/**
 * The DynamoDB tables as data, shared by the Pulumi resources and the local runtime, so that
 * both create the same key schema and TTL attribute.
 *
 * Both tables lead with the owner: the partition key is the caller's `sub` on a sign-in stack
 * (the constant `anonymous` elsewhere), so that IAM can limit a session to its own partition
 * (`dynamodb:LeadingKeys`), a listing is a Query of one partition, and an Idempotency-Key is the
 * caller's own.
 */

export interface TableDefinition {
  /** Used in resource names and as the key of the table's name in the handlers' environment. */
  logicalName: "items" | "idempotency";
  /** The partition key: the owner. */
  hashKey: string;
  /** The sort key within an owner's partition. */
  rangeKey: string;
  /** Epoch-seconds attribute DynamoDB's TTL deletes expired records by. */
  ttlAttribute?: string;
}

/** Items by owner, then id; ids are UUIDv7, so an owner's items sort by creation time. */
export const ITEMS_TABLE: TableDefinition = {
  logicalName: "items",
  hashKey: "owner",
  rangeKey: "id",
};

/**
 * Idempotency-Key records, by owner, then key, in a table of their own: records mixed into the
 * items table would leave listing pages short or empty.
 */
export const IDEMPOTENCY_TABLE: TableDefinition = {
  logicalName: "idempotency",
  hashKey: "owner",
  rangeKey: "id",
  ttlAttribute: "expiresAt",
};

export const TABLES: readonly TableDefinition[] = [ITEMS_TABLE, IDEMPOTENCY_TABLE];
