/**
 * The six operations of the Items API. Each is a plain async function from an invocation to a
 * reply; errors are thrown and turned into responses by `createHandler`.
 */
import { createHash } from "crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { decodeCursor, encodeCursor } from "./cursor";
import { badRequest, httpError, notFound } from "./errors";
import { Invocation, Operation, Reply, handlerFactory } from "./http";
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
import { baseUrlOf, headerOf, ifMatchOf, ifNoneMatchOf, itemIdOf, jsonBodyOf, versionOfTag } from "./request";
import { claimIdempotencyKey, completeIdempotencyKey, expireIdempotencyLock } from "./idempotency-store";
import { insertItem, mergeIntoItem, overwriteItem, readItem, removeItem, scanItems } from "./item-store";

/** Media types of the writes' bodies; the route table declares the same in the document. */
export const NEW_ITEM_MEDIA_TYPES: readonly string[] = ["application/json"];
export const ITEM_PATCH_MEDIA_TYPES: readonly string[] = ["application/merge-patch+json", "application/json"];

/** How long an Idempotency-Key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,128}$/;

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

function idempotencyKeyOf(event: APIGatewayProxyEvent): string | undefined {
  const key = headerOf(event, "idempotency-key");
  if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw badRequest("Idempotency-Key must be 1 to 128 printable ASCII characters");
  }
  return key;
}

export const createItem: Operation = async (invocation) => {
  const { event, deps, store } = invocation;
  const input = parseItemInput(jsonBodyOf(event, NEW_ITEM_MEDIA_TYPES));
  const key = idempotencyKeyOf(event);
  const now = deps.now();
  const timestamp = now.toISOString();
  const item: StoredItem = { id: deps.newId(), ...input, version: 1, createdAt: timestamp, updatedAt: timestamp };
  if (key === undefined) {
    await insertItem(store, item);
    return createdReply(event, item);
  }
  return createIdempotently(invocation, key, item, now.getTime());
};

/**
 * Create with an Idempotency-Key: claim the key, write the item, record the response. A claim
 * abandoned by a crashed invocation is taken over after its lock expires and reuses the item id
 * it had chosen, so a retry can never store the item twice.
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
      status: "in_progress",
      itemId: item.id,
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
  const abandoned = claim.previous;
  const resumed =
    abandoned !== undefined && abandoned.status === "in_progress" && abandoned.requestHash === requestHash
      ? { ...item, id: abandoned.itemId }
      : item;
  let stored: StoredItem;
  try {
    stored = (await insertItem(store, resumed, resumed !== item)) ?? resumed;
  } catch (error) {
    await expireIdempotencyLock(store, key, deps.now().getTime()).catch((unlockError: unknown) =>
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

export const listItems: Operation = async ({ event, deps, store }) => {
  const { limit, cursor } = parseQuery(event, "listItems");
  const startAfter = cursor === undefined ? undefined : decodeCursor(deps.settings.cursorSecret, cursor);
  const page = await scanItems(store, limit, startAfter);
  const body: { items: Json[]; nextCursor?: string } = { items: page.items.map(toResponseItem) };
  if (page.lastId !== undefined) {
    body.nextCursor = encodeCursor(deps.settings.cursorSecret, page.lastId);
  }
  return { statusCode: 200, body };
};

export const getItem: Operation = async ({ event, store }) => {
  const id = itemIdOf(event);
  const ifNoneMatch = ifNoneMatchOf(event);
  const item = await readItem(store, id);
  if (item === undefined) {
    throw notFound();
  }
  // Weak comparison (RFC 9110 §8.8.3.2): W/ aside, the opaque text must be this version's, exactly.
  if (
    ifNoneMatch !== undefined &&
    (ifNoneMatch.any || ifNoneMatch.tags.some((tag) => versionOfTag(tag.opaque) === item.version))
  ) {
    return { statusCode: 304, headers: { ETag: etagOf(item) } };
  }
  return itemReply(200, item);
};

export const replaceItem: Operation = async ({ event, deps, store }) => {
  const id = itemIdOf(event);
  const versions = ifMatchOf(event);
  const input = parseItemInput(jsonBodyOf(event, NEW_ITEM_MEDIA_TYPES));
  const item = await overwriteItem(store, id, input, deps.now().toISOString(), versions);
  return itemReply(200, item);
};

export const patchItem: Operation = async ({ event, deps, store }) => {
  const id = itemIdOf(event);
  const versions = ifMatchOf(event);
  const patch = parseItemPatch(jsonBodyOf(event, ITEM_PATCH_MEDIA_TYPES));
  const item = await mergeIntoItem(store, id, patch, deps.now().toISOString(), versions);
  return itemReply(200, item);
};

export const deleteItem: Operation = async ({ event, store }) => {
  const id = itemIdOf(event);
  await removeItem(store, id, ifMatchOf(event));
  return { statusCode: 204 };
};

/** `callbackFactory` for each route's CallbackFunction. */
export const createItemFactory = handlerFactory("createItem", createItem);
export const listItemsFactory = handlerFactory("listItems", listItems);
export const getItemFactory = handlerFactory("getItem", getItem);
export const replaceItemFactory = handlerFactory("replaceItem", replaceItem);
export const patchItemFactory = handlerFactory("patchItem", patchItem);
export const deleteItemFactory = handlerFactory("deleteItem", deleteItem);
