/**
 * The idempotency store: Idempotency-Key records in their own table (TTL on `expiresAt`), which a
 * keyed create claims, completes with the created item, or releases when its item write fails.
 */
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { Store, attempt, call, expressionBuilder } from "./dynamodb";
import { asItem } from "./item-store";
import { Json, StoredItem, isJsonObject } from "./model";

export interface IdempotencyRecord {
  id: string;
  requestHash: string;
  status: "in_progress" | "completed";
  /** Epoch seconds; the table's TTL attribute. Also checked on read, TTL deletes lazily. */
  expiresAt: number;
  /** Epoch milliseconds after which an in-progress claim is considered abandoned. */
  lockedUntil: number;
  /** The id the create chose when it claimed the key. */
  itemId: string;
  /** The created item, once completed: a replay answers with it. */
  item?: StoredItem;
}

export type IdempotencyClaim =
  { claimed: true; previous: IdempotencyRecord | undefined } | { claimed: false; holder: IdempotencyRecord };

function asRecord(value: unknown): IdempotencyRecord | undefined {
  if (!isJsonObject(value)) {
    return undefined;
  }
  const { id, requestHash, status, expiresAt, lockedUntil, itemId, item } = value as Record<string, Json | undefined>;
  if (
    typeof id !== "string" ||
    typeof itemId !== "string" ||
    typeof requestHash !== "string" ||
    (status !== "in_progress" && status !== "completed") ||
    typeof expiresAt !== "number" ||
    typeof lockedUntil !== "number"
  ) {
    return undefined;
  }
  return { id, requestHash, status, expiresAt, lockedUntil, itemId, item: asItem(item) };
}

/**
 * Claims an idempotency key: succeeds when the key is free, expired, or held by an in-progress
 * claim whose lock has run out (then `previous` is that abandoned claim). Otherwise returns the
 * live record that holds the key.
 */
export async function claimIdempotencyKey(
  store: Store,
  record: IdempotencyRecord,
  nowMs: number,
): Promise<IdempotencyClaim> {
  const builder = expressionBuilder();
  const condition =
    `attribute_not_exists(${builder.name("id")})` +
    ` OR ${builder.name("expiresAt")} < ${builder.value(Math.floor(nowMs / 1000))}` +
    ` OR (${builder.name("status")} = ${builder.value("in_progress")} AND ${builder.name("lockedUntil")} < ${builder.value(nowMs)})`;
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new PutCommand({
        TableName: store.idempotencyTable,
        Item: record,
        ConditionExpression: condition,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
        ReturnValues: "ALL_OLD",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (outcome.ok) {
    const previous = asRecord(outcome.value.Attributes);
    const expired = previous !== undefined && previous.expiresAt < Math.floor(nowMs / 1000);
    return { claimed: true, previous: expired ? undefined : previous };
  }
  const holder = asRecord(outcome.image) ?? (await readIdempotencyRecord(store, record.id));
  if (holder?.itemId === record.itemId) {
    // This request's own claim (the item id is fresh per request): the SDK retried an attempt
    // that was applied. Which claim it replaced is lost with that attempt's answer; that matters
    // only when it took over an abandoned one, whose item id a later retry can then not reuse.
    return { claimed: true, previous: undefined };
  }
  // Released between the write and the read (that attempt failed): report it as in flight.
  return { claimed: false, holder: holder ?? { ...record, status: "in_progress" } };
}

async function readIdempotencyRecord(store: Store, id: string): Promise<IdempotencyRecord | undefined> {
  const result = await call(store, (options) =>
    store.doc.send(new GetCommand({ TableName: store.idempotencyTable, Key: { id }, ConsistentRead: true }), options),
  );
  return asRecord(result.Item);
}

export async function completeIdempotencyKey(store: Store, id: string, item: StoredItem): Promise<void> {
  const builder = expressionBuilder();
  await call(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.idempotencyTable,
        Key: { id },
        UpdateExpression: `SET ${builder.name("status")} = ${builder.value("completed")}, ${builder.name("item")} = ${builder.value(item)}`,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
      }),
      options,
    ),
  );
}

/**
 * Ends the lock of a claim whose item write failed, so that a retry takes the claim over at once.
 * The retry reuses the item id of this claim: if the failed write was applied after all (a
 * timeout), the retry finds that item instead of storing a second one.
 */
export async function expireIdempotencyLock(store: Store, id: string, nowMs: number): Promise<void> {
  const builder = expressionBuilder();
  await attempt(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.idempotencyTable,
        Key: { id },
        UpdateExpression: `SET ${builder.name("lockedUntil")} = ${builder.value(nowMs - 1)}`,
        ConditionExpression: `${builder.name("status")} = ${builder.value("in_progress")}`,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
      }),
      options,
    ),
  );
}
