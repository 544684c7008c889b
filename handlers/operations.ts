/**
 * The six operations of the Items API. Each is a plain async function from an invocation to a
 * reply; errors are thrown and turned into responses by `createHandler`.
 */
import { createHash, randomBytes } from "crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { decodeCursor, encodeCursor } from "./cursor";
import { badRequest, httpError } from "./errors";
import { Invocation, MAX_PROXY_RESULT_BYTES, Operation, Reply, handlerFactory } from "./http";
import { parseQuery } from "./fields";
import {
  ItemInput,
  Json,
  StoredItem,
  clientFieldsOf,
  etagOf,
  isJsonObject,
  parseItemInput,
  parseItemPatch,
  toResponseItem,
} from "./model";
import { baseUrlOf, failedPrecondition, headerLinesOf, itemIdOf, jsonBodyOf } from "./request";
import { claimIdempotencyKey, completeIdempotencyKey, expireIdempotencyLock } from "./idempotency-store";
import { insertItem, mergeIntoItem, overwriteItem, readItem, readItemsPage, removeItem } from "./item-store";

/** Media types of the writes' bodies; the route table declares the same in the document. */
export const NEW_ITEM_MEDIA_TYPES: readonly string[] = ["application/json"];
export const ITEM_PATCH_MEDIA_TYPES: readonly string[] = ["application/merge-patch+json", "application/json"];

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/**
 * Printable ASCII without a comma: repeated header lines form one comma-separated list (RFC 9110
 * §5.3), so a key holding a comma could not be told from two keys.
 */
const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x2b\x2d-\x7e]{1,128}$/;

function itemReply(statusCode: number, item: StoredItem, headers: Record<string, string> = {}): Reply {
  return { statusCode, body: toResponseItem(item), headers: { ETag: etagOf(item), ...headers } };
}

function createdReply(event: APIGatewayProxyEvent, item: StoredItem): Reply {
  return itemReply(201, item, { Location: `${baseUrlOf(event)}items/${item.id}` });
}

/** JSON with object keys sorted, so that equal bodies hash equally whatever their key order. */
function canonicalJson(value: Json): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  if (isJsonObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? null)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What "the same body" means for an Idempotency-Key: the validated input, key order aside. */
export function requestHashOf(input: ItemInput): string {
  return createHash("sha256")
    .update(canonicalJson(clientFieldsOf(input)))
    .digest("base64url");
}

/** The one Idempotency-Key of a request; more than one line, or a list, is refused. */
function idempotencyKeyOf(event: APIGatewayProxyEvent): string | undefined {
  const lines = headerLinesOf(event, "idempotency-key");
  if (lines.length === 0) {
    return undefined;
  }
  const key = lines[0]?.trim() ?? "";
  if (lines.length > 1 || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw badRequest("Idempotency-Key must be one header line of 1 to 128 printable ASCII characters, without commas");
  }
  return key;
}

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits, so that an owner's
 * ids sort by creation time and a Query of the partition lists newest first.
 */
export function uuidv7(now: number = Date.now(), random: Buffer = randomBytes(10)): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(now, 0, 6);
  random.copy(bytes, 6, 0, 10);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const createItem: Operation = async (invocation) => {
  const { event, store, preconditions } = invocation;
  const input = parseItemInput(jsonBodyOf(event, NEW_ITEM_MEDIA_TYPES));
  const key = idempotencyKeyOf(event);
  // The collection always exists and has no entity tag: any failed precondition is 412 here.
  if (failedPrecondition(preconditions, undefined) !== undefined) {
    throw httpError("precondition_failed");
  }
  const now = new Date();
  const timestamp = now.toISOString();
  const item: StoredItem = {
    id: uuidv7(now.getTime()),
    ...input,
    version: 1,
    createdAt: timestamp,
    updatedAt: timestamp,
  };
  if (key === undefined) {
    await insertItem(store, item);
    return createdReply(event, item);
  }
  return createIdempotently(invocation, key, item, now.getTime());
};

/**
 * Create with an Idempotency-Key: claim the key, write the item, record the response. The claim
 * names the one item id the key may create (a takeover of an abandoned claim keeps it), and the
 * item is written under that id if it is not there yet: whatever crashed in between, a key holds
 * at most one item.
 */
async function createIdempotently(
  { event, deps, store, context }: Invocation,
  key: string,
  item: StoredItem,
  nowMs: number,
): Promise<Reply> {
  const requestHash = requestHashOf(item);
  const claim = await claimIdempotencyKey(
    store,
    {
      id: key,
      requestHash,
      freshItemId: item.id,
      expiresAt: Math.floor(nowMs / 1000) + IDEMPOTENCY_TTL_SECONDS,
      lockedUntil: nowMs + context.getRemainingTimeInMillis(),
    },
    nowMs,
  );
  if (!claim.claimed) {
    if (claim.holder.requestHash !== requestHash) {
      throw httpError("idempotency_key_reused");
    }
    if (claim.holder.status === "completed" && claim.holder.item !== undefined) {
      return createdReply(event, claim.holder.item);
    }
    throw httpError("request_in_progress");
  }
  const claimed = { ...item, id: claim.record.itemId };
  let stored: StoredItem;
  try {
    stored = (await insertItem(store, claimed, true)) ?? claimed;
  } catch (error) {
    await expireIdempotencyLock(store, key, Date.now()).catch((unlockError: unknown) =>
      deps.log.warn("could not end the idempotency lock", { key, error: String(unlockError) }),
    );
    throw error;
  }
  try {
    await completeIdempotencyKey(store, key, stored);
  } catch (error) {
    // The item is stored: answer 201. The record stays in progress until its lock expires; a
    // retry then takes it over, finds this item under the same id and completes the record.
    deps.log.warn("could not complete idempotency record", { key, error: String(error) });
  }
  return createdReply(event, stored);
}

/**
 * What the items of one list page may add up to in the proxy result, so that it stays under
 * Lambda's response payload limit: the rest of the result (status, headers, the envelope and
 * cursor of the body) takes far less than the margin kept back.
 */
const PAGE_ITEMS_BUDGET_BYTES = MAX_PROXY_RESULT_BYTES - 64 * 1024;

/**
 * The bytes an item adds to the proxy result: its JSON inside the page's JSON, itself a string
 * inside the result's JSON, so escaped twice (a control character takes 6 bytes, then 7), and a
 * comma.
 */
function itemSizeInResult(item: StoredItem): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(toResponseItem(item)))) - 2 + 1;
}

export const listItems: Operation = async ({ event, deps, store, preconditions }) => {
  // The collection always exists and has no entity tag (README, "The collection").
  const failed = failedPrecondition(preconditions, undefined);
  if (failed === "If-Match") {
    throw httpError("precondition_failed");
  }
  if (failed === "If-None-Match") {
    return { statusCode: 304 };
  }
  const { limit, cursor } = parseQuery(event, "listItems");
  const startAfter = cursor === undefined ? undefined : decodeCursor(deps.settings.cursorSecret, store.owner, cursor);
  const page = await readItemsPage(store, limit, startAfter, {
    bytes: PAGE_ITEMS_BUDGET_BYTES,
    sizeOf: itemSizeInResult,
  });
  const body: { items: Json[]; nextCursor?: string } = { items: page.items.map(toResponseItem) };
  if (page.continueAfter !== undefined) {
    body.nextCursor = encodeCursor(deps.settings.cursorSecret, store.owner, page.continueAfter);
  }
  return { statusCode: 200, body };
};

export const getItem: Operation = async ({ event, store, preconditions }) => {
  const id = itemIdOf(event);
  const item = await readItem(store, id);
  if (item === undefined) {
    throw httpError("not_found");
  }
  const failed = failedPrecondition(preconditions, item.version);
  if (failed === "If-None-Match") {
    return { statusCode: 304, headers: { ETag: etagOf(item) } };
  }
  if (failed === "If-Match") {
    throw httpError("precondition_failed");
  }
  return itemReply(200, item);
};

export const replaceItem: Operation = async ({ event, store, preconditions }) => {
  const id = itemIdOf(event);
  const input = parseItemInput(jsonBodyOf(event, NEW_ITEM_MEDIA_TYPES));
  const item = await overwriteItem(store, id, input, new Date().toISOString(), preconditions);
  return itemReply(200, item);
};

export const patchItem: Operation = async ({ event, store, preconditions }) => {
  const id = itemIdOf(event);
  const patch = parseItemPatch(jsonBodyOf(event, ITEM_PATCH_MEDIA_TYPES));
  const item = await mergeIntoItem(store, id, patch, new Date().toISOString(), preconditions);
  return itemReply(200, item);
};

export const deleteItem: Operation = async ({ event, store, preconditions }) => {
  await removeItem(store, itemIdOf(event), preconditions);
  return { statusCode: 204 };
};

/** `callbackFactory` for each route's CallbackFunction. */
export const createItemFactory = handlerFactory("createItem", createItem);
export const listItemsFactory = handlerFactory("listItems", listItems);
export const getItemFactory = handlerFactory("getItem", getItem);
export const replaceItemFactory = handlerFactory("replaceItem", replaceItem);
export const patchItemFactory = handlerFactory("patchItem", patchItem);
export const deleteItemFactory = handlerFactory("deleteItem", deleteItem);
