/**
 * The idempotency store: Idempotency-Key records in their own table (TTL on `expiresAt`), which a
 * keyed create claims, completes with the created item, or releases when its item write fails.
 */
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { RequestStore, attempt, call, expressionBuilder } from "./dynamodb";
import { internalError } from "./errors";
import { writeTokenOf } from "./item-store";
import { Json, StoredItem, isJsonObject, storedItemOf } from "./model";

export interface IdempotencyRecord {
  id: string;
  requestHash: string;
  status: "in_progress" | "completed";
  /** Epoch seconds; the table's TTL attribute. Also checked on read, TTL deletes lazily. */
  expiresAt: number;
  /** Epoch milliseconds after which an in-progress claim is considered abandoned. */
  lockedUntil: number;
  /**
   * The id of the one item this key may create: chosen by the first claim, kept by every claim
   * that takes an abandoned one over, so that whatever crashed the key holds at most one item.
   */
  itemId: string;
  /** The write token of the request that holds the claim: an SDK retry recognises its own claim. */
  claimToken?: string;
  /** The created item, once completed: a replay answers with it. */
  item?: StoredItem;
}

/** What a create asks for when it claims a key. */
export interface ClaimRequest {
  id: string;
  requestHash: string;
  /** The id for the item if the claim is new (a takeover keeps the abandoned claim's). */
  freshItemId: string;
  /** Epoch milliseconds: the lock of the claim (the invocation's deadline). */
  lockedUntil: number;
  /** Epoch seconds: the end of the key's window, if the claim is new. */
  expiresAt: number;
}

export type IdempotencyClaim =
  { claimed: true; record: IdempotencyRecord } | { claimed: false; holder: IdempotencyRecord };

function asRecord(value: unknown): IdempotencyRecord | undefined {
  if (!isJsonObject(value)) {
    return undefined;
  }
  const { id, requestHash, status, expiresAt, lockedUntil, itemId, claimToken, item } = value as Record<
    string,
    Json | undefined
  >;
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
  return {
    id,
    requestHash,
    status,
    expiresAt,
    lockedUntil,
    itemId,
    claimToken: typeof claimToken === "string" ? claimToken : undefined,
    item: storedItemOf(item),
  };
}

/**
 * Claims an idempotency key in one conditional UpdateItem: it succeeds when the key is free, or
 * held by an in-progress claim of the SAME request (same hash) whose lock has run out. A takeover
 * keeps the abandoned claim's item id and window, so a key can never come to hold two items: the
 * item the crashed claim may have written is found under that id. A different body never takes a
 * claim over, however long ago it was abandoned (it is answered 422 by the caller). A record past
 * its 24 h window (TTL deletes lazily) is replaced by a fresh claim, conditioned on being still
 * that record. Otherwise returns the live record that holds the key.
 */
export async function claimIdempotencyKey(
  store: RequestStore,
  claim: ClaimRequest,
  nowMs: number,
): Promise<IdempotencyClaim> {
  const token = writeTokenOf(store);
  const builder = expressionBuilder();
  const [status, lockedUntil, requestHash, itemId, expiresAt] = [
    "status",
    "lockedUntil",
    "requestHash",
    "itemId",
    "expiresAt",
  ].map((name) => builder.name(name));
  const hash = builder.value(claim.requestHash);
  const inProgress = builder.value("in_progress");
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.idempotencyTable,
        Key: { owner: store.owner, id: claim.id },
        UpdateExpression:
          `SET ${requestHash} = ${hash}, ${status} = ${inProgress}, ${lockedUntil} = ${builder.value(claim.lockedUntil)}, ` +
          `${itemId} = if_not_exists(${itemId}, ${builder.value(claim.freshItemId)}), ` +
          `${expiresAt} = if_not_exists(${expiresAt}, ${builder.value(claim.expiresAt)}), ` +
          `${builder.name("claimToken")} = ${builder.value(token)} REMOVE ${builder.name("item")}`,
        ConditionExpression:
          `attribute_not_exists(${builder.name("id")}) OR ` +
          `(${status} = ${inProgress} AND ${lockedUntil} < ${builder.value(nowMs)} AND ${requestHash} = ${hash} ` +
          `AND ${expiresAt} >= ${builder.value(Math.floor(nowMs / 1000))})`,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (outcome.ok) {
    return claimedOrRead(store, asRecord(outcome.value.Attributes), claim.id);
  }
  const holder = asRecord(outcome.image) ?? (await readIdempotencyRecord(store, claim.id));
  if (holder?.claimToken === token) {
    // This request's own claim: the SDK retried an attempt that was applied.
    return { claimed: true, record: holder };
  }
  if (holder !== undefined && holder.expiresAt < Math.floor(nowMs / 1000)) {
    return replaceExpiredRecord(store, claim, holder, token);
  }
  // Released between the write and the read (that attempt failed): report it as in flight.
  return { claimed: false, holder: holder ?? recordOf(claim, token) };
}

function recordOf(claim: ClaimRequest, token: string): IdempotencyRecord {
  return {
    id: claim.id,
    requestHash: claim.requestHash,
    status: "in_progress",
    expiresAt: claim.expiresAt,
    lockedUntil: claim.lockedUntil,
    itemId: claim.freshItemId,
    claimToken: token,
  };
}

async function claimedOrRead(
  store: RequestStore,
  record: IdempotencyRecord | undefined,
  id: string,
): Promise<IdempotencyClaim> {
  const claimed = record ?? (await readIdempotencyRecord(store, id));
  if (claimed === undefined) {
    throw internalError(new Error(`idempotency record ${id} has an unexpected shape after its claim`));
  }
  return { claimed: true, record: claimed };
}

/** A record past its window: a new claim replaces it, if it is still that record. */
async function replaceExpiredRecord(
  store: RequestStore,
  claim: ClaimRequest,
  expired: IdempotencyRecord,
  token: string,
): Promise<IdempotencyClaim> {
  const record = recordOf(claim, token);
  const builder = expressionBuilder();
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new PutCommand({
        TableName: store.idempotencyTable,
        Item: { owner: store.owner, ...record },
        ConditionExpression: `${builder.name("expiresAt")} = ${builder.value(expired.expiresAt)} AND ${builder.name("itemId")} = ${builder.value(expired.itemId)}`,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (outcome.ok) {
    return { claimed: true, record };
  }
  const holder = asRecord(outcome.image) ?? (await readIdempotencyRecord(store, claim.id));
  if (holder?.claimToken === token) {
    return { claimed: true, record: holder };
  }
  return { claimed: false, holder: holder ?? record };
}

async function readIdempotencyRecord(store: RequestStore, id: string): Promise<IdempotencyRecord | undefined> {
  const result = await call(store, (options) =>
    store.doc.send(
      new GetCommand({ TableName: store.idempotencyTable, Key: { owner: store.owner, id }, ConsistentRead: true }),
      options,
    ),
  );
  return asRecord(result.Item);
}

export async function completeIdempotencyKey(store: RequestStore, id: string, item: StoredItem): Promise<void> {
  const builder = expressionBuilder();
  await call(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.idempotencyTable,
        Key: { owner: store.owner, id },
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
export async function expireIdempotencyLock(store: RequestStore, id: string, nowMs: number): Promise<void> {
  const builder = expressionBuilder();
  await attempt(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.idempotencyTable,
        Key: { owner: store.owner, id },
        UpdateExpression: `SET ${builder.name("lockedUntil")} = ${builder.value(nowMs - 1)}`,
        ConditionExpression: `${builder.name("status")} = ${builder.value("in_progress")}`,
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
      }),
      options,
    ),
  );
}
