/**
 * Data access: every DynamoDB expression lives here. Attribute names always go through
 * `ExpressionAttributeNames` placeholders and values through `ExpressionAttributeValues`, so
 * reserved words (`name`, `status`, `data`) work and client-chosen names are never evaluated.
 * SDK errors are translated into HTTP errors at this boundary.
 *
 * Single-item operations make one round trip. A failed condition is explained from the item
 * DynamoDB returns with it (ReturnValuesOnConditionCheckFailure), or, where the engine returns
 * none (the embedded engine lacks it), by one consistent read on the failure path only.
 *
 * Every write is safe to retry. The SDK retries an attempt that timed out, and that attempt may
 * have been applied: its retry then meets the state the first attempt wrote. So each request
 * carries a write token, every write stores it on the item (which keeps the tokens of its last
 * WRITE_TOKEN_HISTORY writes) and is conditioned on its absence: a retry of an applied write fails
 * its condition instead of applying twice, and the failure path, finding its own token, answers
 * with the item as it stands, never 412, 404 or 500.
 */
import { randomBytes } from "crypto";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { httpError, internalError, notFound, preconditionFailed, unavailable } from "./errors";
import {
  ItemInput,
  ItemPatch,
  Json,
  JsonObject,
  LIMITS,
  StoredItem,
  applyMergePatch,
  isJsonObject,
  isStoredItem,
  mergeItem,
  tooManyAttributes,
} from "./model";

export interface Store {
  doc: DynamoDBDocumentClient;
  itemsTable: string;
  idempotencyTable: string;
  /** Aborts calls that would outlive the invocation, so a slow store answers 503, not a timeout. */
  abortSignal?: AbortSignal;
  /** Capacity units this request consumed, summed over its calls (for the request log). */
  consumed: { capacityUnits: number };
  /**
   * This request's write token, made at its first write (`writeTokenOf`): one per request, so
   * that every SDK attempt and every round of a PATCH carries the same one.
   */
  writeToken?: string;
}

/** UpdateExpression and ConditionExpression are limited to 4 KB each. */
const MAX_EXPRESSION_LENGTH = 4000;

/**
 * Rounds of a PATCH: the first guesses that every object in the patch merges into a map; a
 * failed guess costs one more round (with the item's shape known), and a round lost to another
 * writer a jittered backoff (PATCH_BACKOFF_MS doubling, capped) before the next. Past the last
 * round, or the function's deadline, the answer is 503.
 */
export const MAX_PATCH_ROUNDS = 25;
const PATCH_BACKOFF_MS = { base: 10, cap: 1000 };

/**
 * How many writes back an item remembers write tokens (`wt0` newest .. `wt15`). A retried write
 * still recognises itself as long as fewer than this many other writes landed on the item
 * between its lost answer and its retry (the retry follows within the per-attempt timeout).
 */
export const WRITE_TOKEN_HISTORY = 16;
const WRITE_TOKEN_ATTRIBUTES: readonly string[] = Array.from({ length: WRITE_TOKEN_HISTORY }, (_, slot) => `wt${slot}`);
const NEWEST_WRITE_TOKEN = "wt0";

/** 96 random bits: unique per request, short enough to keep 16 of them on every item. */
export function writeTokenOf(store: Store): string {
  store.writeToken ??= randomBytes(12).toString("base64url");
  return store.writeToken;
}

const THROTTLING_ERRORS: readonly string[] = [
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TransactionConflictException",
  "AbortError",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
];
const NETWORK_ERROR_CODES: readonly string[] = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
];

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

function isConditionalFailure(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** Maps an SDK failure to the error clients see: 503 for anything a retry could fix. */
export function translateStoreError(error: unknown): Error {
  const name = errorName(error);
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  if (THROTTLING_ERRORS.includes(name) || (code !== undefined && NETWORK_ERROR_CODES.includes(code))) {
    return unavailable(error);
  }
  if (name === "ValidationException" && error instanceof Error && /item size/i.test(error.message)) {
    return httpError("payload_too_large", "the item would exceed DynamoDB's 400 KB item size limit", {}, error);
  }
  return internalError(error);
}

interface CallOptions {
  abortSignal?: AbortSignal;
}

/**
 * A failed condition: the item as DynamoDB saw it when the condition failed, when it returned it
 * (`ReturnValuesOnConditionCheckFailure`), and whether the SDK made more than one attempt (an
 * earlier one may have been applied and answered by a timeout).
 */
interface ConditionFailure {
  ok: false;
  image: JsonObject | undefined;
  retried: boolean;
}

type Outcome<T> = { ok: true; value: T } | ConditionFailure;

/** The SDK's attempt count, which its retry middleware sets on every error it finally throws. */
function attemptsOf(error: unknown): number {
  const metadata: unknown = typeof error === "object" && error !== null ? Reflect.get(error, "$metadata") : undefined;
  const attempts: unknown = typeof metadata === "object" && metadata !== null ? Reflect.get(metadata, "attempts") : 1;
  return typeof attempts === "number" ? attempts : 1;
}

/**
 * Runs one DynamoDB call. A failed condition becomes `{ ok: false }` with the old image when
 * the engine returned one; every other failure is translated for clients.
 */
async function attempt<T>(store: Store, call: (options: CallOptions) => Promise<T>): Promise<Outcome<T>> {
  try {
    const value = await call({ abortSignal: store.abortSignal });
    store.consumed.capacityUnits += consumedUnits(value);
    return { ok: true, value };
  } catch (error) {
    if (isConditionalFailure(error)) {
      return { ok: false, image: plainItemOf(Reflect.get(error as object, "Item")), retried: attemptsOf(error) > 1 };
    }
    throw translateStoreError(error);
  }
}

/** `ConsumedCapacity.CapacityUnits` of a response (the client asks for TOTAL on every call). */
function consumedUnits(output: unknown): number {
  if (typeof output !== "object" || output === null || !("ConsumedCapacity" in output)) {
    return 0;
  }
  const capacity: unknown = output.ConsumedCapacity;
  if (typeof capacity === "object" && capacity !== null && "CapacityUnits" in capacity) {
    return typeof capacity.CapacityUnits === "number" ? capacity.CapacityUnits : 0;
  }
  return 0;
}

/** For calls without a condition. */
async function call<T>(store: Store, run: (options: CallOptions) => Promise<T>): Promise<T> {
  const outcome = await attempt(store, run);
  if (!outcome.ok) {
    throw internalError(new Error("unconditional call failed its condition"));
  }
  return outcome.value;
}

/**
 * One DynamoDB AttributeValue as plain JSON, for the types items hold; undefined for others.
 * lib-dynamodb converts command outputs only (its DocumentUnmarshall middleware): the image on a
 * ConditionalCheckFailedException arrives in DynamoDB's own form.
 */
function plainValueOf(value: unknown): Json | undefined {
  if (!isJsonObject(value) || Object.keys(value).length !== 1) {
    return undefined;
  }
  const { S, N, BOOL, NULL, L, M } = value;
  if (typeof S === "string") {
    return S;
  }
  if (typeof N === "string") {
    const number = Number(N);
    return Number.isFinite(number) ? number : undefined;
  }
  if (typeof BOOL === "boolean") {
    return BOOL;
  }
  if (NULL === true) {
    return null;
  }
  if (Array.isArray(L)) {
    const members = L.map(plainValueOf);
    return members.every((member) => member !== undefined) ? (members as Json[]) : undefined;
  }
  return isJsonObject(M) ? plainItemOf(M) : undefined;
}

/** A record in DynamoDB's form (`{ "id": { "S": "..." } }`) as plain JSON; undefined if it is not one. */
function plainItemOf(record: unknown): JsonObject | undefined {
  if (!isJsonObject(record)) {
    return undefined;
  }
  const plain: JsonObject = {};
  for (const [key, value] of Object.entries(record)) {
    const converted = plainValueOf(value);
    if (converted === undefined) {
      return undefined;
    }
    plain[key] = converted;
  }
  return plain;
}

/**
 * Builds placeholder maps; the same name or path segment always gets the same placeholder.
 * Placeholders count in the 4 KB expression limits: base-36 numbers keep them short.
 */
function expressionBuilder() {
  const names: Record<string, string> = {};
  const placeholders = new Map<string, string>();
  const values: Record<string, unknown> = {};
  let valueCount = 0;
  return {
    name(attribute: string): string {
      let placeholder = placeholders.get(attribute);
      if (placeholder === undefined) {
        placeholder = `#${placeholders.size.toString(36)}`;
        placeholders.set(attribute, placeholder);
        names[placeholder] = attribute;
      }
      return placeholder;
    },
    path(segments: string[]): string {
      return segments.map((segment) => this.name(segment)).join(".");
    },
    value(value: unknown): string {
      const placeholder = `:${(valueCount++).toString(36)}`;
      values[placeholder] = value;
      return placeholder;
    },
    names,
    values,
  };
}

type Builder = ReturnType<typeof expressionBuilder>;

function versionCondition(builder: Builder, versions: number[] | undefined): string[] {
  if (versions === undefined) {
    return [];
  }
  if (versions.length === 0) {
    // No tag can match (weak, or not a version this API wrote): the precondition fails.
    return [`attribute_not_exists(${builder.name("id")})`];
  }
  return [`${builder.name("version")} IN (${versions.map((version) => builder.value(version)).join(", ")})`];
}

/**
 * The write-token part of a write: SET actions that push this request's token onto the item's
 * history (every operand reads the item as it was, so `wt1 = wt0` takes the old `wt0`), and the
 * condition that the token is not there yet (a missing attribute equals nothing).
 */
function writeTokenClauses(builder: Builder, token: string): { sets: string[]; condition: string } {
  const placeholder = builder.value(token);
  const none = builder.value("");
  const names = WRITE_TOKEN_ATTRIBUTES.map((attribute) => builder.name(attribute));
  const sets = names.map((name, slot) =>
    slot === 0 ? `${name} = ${placeholder}` : `${name} = if_not_exists(${names[slot - 1]}, ${none})`,
  );
  return { sets, condition: `NOT (${names.map((name) => `${name} = ${placeholder}`).join(" OR ")})` };
}

/** A stored item and the write tokens it remembers. */
interface ItemRecord {
  item: StoredItem;
  tokens: string[];
}

/** The item's own fields only: write tokens and any other attribute stay in the store. */
function asItem(value: unknown): StoredItem | undefined {
  if (!isStoredItem(value)) {
    return undefined;
  }
  const { id, name, description, attrs, version, createdAt, updatedAt } = value;
  return { id, name, description, attrs, version, createdAt, updatedAt };
}

function recordOf(value: unknown): ItemRecord | undefined {
  const item = asItem(value);
  if (item === undefined || !isJsonObject(value)) {
    return undefined;
  }
  const tokens = WRITE_TOKEN_ATTRIBUTES.map((attribute) => value[attribute]).filter(
    (token): token is string => typeof token === "string" && token !== "",
  );
  return { item, tokens };
}

async function readRecord(store: Store, id: string): Promise<ItemRecord | undefined> {
  const result = await call(store, (options) =>
    store.doc.send(new GetCommand({ TableName: store.itemsTable, Key: { id }, ConsistentRead: true }), options),
  );
  return recordOf(result.Item);
}

export async function getItem(store: Store, id: string): Promise<StoredItem | undefined> {
  return (await readRecord(store, id))?.item;
}

/** The item when a write's condition failed: the image DynamoDB returned, else one consistent read. */
async function itemAfterFailure(store: Store, id: string, failure: ConditionFailure): Promise<ItemRecord | undefined> {
  return recordOf(failure.image) ?? (await readRecord(store, id));
}

/** Whether this request's own write is among those the item remembers. */
function holdsOwnWrite(store: Store, record: ItemRecord): boolean {
  return record.tokens.includes(writeTokenOf(store));
}

/**
 * Writes a new item. When `mayExist` (an idempotent create taking over an abandoned attempt
 * that chose this id), an item already stored under the id is returned instead. So is the item
 * this request stored itself, when the SDK retried an attempt that had been applied.
 */
export async function putNewItem(store: Store, item: StoredItem, mayExist = false): Promise<StoredItem | undefined> {
  const builder = expressionBuilder();
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new PutCommand({
        TableName: store.itemsTable,
        Item: { ...item, [NEWEST_WRITE_TOKEN]: writeTokenOf(store) },
        ConditionExpression: `attribute_not_exists(${builder.name("id")})`,
        ExpressionAttributeNames: builder.names,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (outcome.ok) {
    return undefined;
  }
  const existing = await itemAfterFailure(store, item.id, outcome);
  if (existing === undefined || !(mayExist || holdsOwnWrite(store, existing))) {
    throw internalError(new Error(`generated id ${item.id} already exists`));
  }
  return existing.item;
}

/**
 * Sets every client field and bumps the version, conditioned on existence, If-Match and the
 * request's write token. `onto` is the item as read when `versions` names exactly its version:
 * the result is then known without DynamoDB sending it back.
 */
async function overwriteItem(
  store: Store,
  id: string,
  input: ItemInput,
  now: string,
  versions: number[] | undefined,
  onto?: StoredItem,
): Promise<Outcome<StoredItem>> {
  const builder = expressionBuilder();
  const idName = builder.name("id");
  const token = writeTokenClauses(builder, writeTokenOf(store));
  const sets = [
    `${builder.name("name")} = ${builder.value(input.name)}`,
    `${builder.name("description")} = ${builder.value(input.description)}`,
    `${builder.name("attrs")} = ${builder.value(input.attrs)}`,
    `${builder.name("version")} = ${builder.name("version")} + ${builder.value(1)}`,
    `${builder.name("updatedAt")} = ${builder.value(now)}`,
    ...token.sets,
  ];
  const conditions = [`attribute_exists(${idName})`, ...versionCondition(builder, versions), token.condition];
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.itemsTable,
        Key: { id },
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: conditions.join(" AND "),
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
        // Written onto a known version, the result is known: nothing to send back.
        ReturnValues: onto === undefined ? "ALL_NEW" : "NONE",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (!outcome.ok) {
    return outcome;
  }
  const value =
    onto === undefined
      ? updatedItem(id, outcome.value.Attributes)
      : { ...onto, ...input, version: onto.version + 1, updatedAt: now };
  return { ok: true, value };
}

function updatedItem(id: string, attributes: unknown): StoredItem {
  const item = asItem(attributes);
  if (item === undefined) {
    throw internalError(new Error(`item ${id} has an unexpected shape after update`));
  }
  return item;
}

/**
 * What a failed PUT or PATCH condition means, from the item as it was found: missing -> 404;
 * this request's own write there -> that write was applied (an SDK retry after a lost answer):
 * the item as it stands; a version If-Match does not name -> 412. Otherwise undefined: the
 * condition failed on something else (a PATCH's guess at the item's shape).
 *
 * Without If-Match the only conditions are existence and the token, so an existing item means
 * the token was there when the condition was checked, even if more writes have pushed it out of
 * the history since.
 */
function resolveFailedWrite(
  store: Store,
  found: ItemRecord | undefined,
  versions: number[] | undefined,
  lastWriteWins: boolean,
): StoredItem | Error | undefined {
  if (found === undefined) {
    return notFound();
  }
  if (holdsOwnWrite(store, found) || lastWriteWins) {
    return found.item;
  }
  if (versions !== undefined && !versions.includes(found.item.version)) {
    return preconditionFailed();
  }
  return undefined;
}

/** PUT: full replace of the client fields; never creates. */
export async function replaceItem(
  store: Store,
  id: string,
  input: ItemInput,
  now: string,
  versions: number[] | undefined,
): Promise<StoredItem> {
  const outcome = await overwriteItem(store, id, input, now, versions);
  if (outcome.ok) {
    return outcome.value;
  }
  const resolved = resolveFailedWrite(
    store,
    await itemAfterFailure(store, id, outcome),
    versions,
    versions === undefined,
  );
  if (resolved instanceof Error) {
    throw resolved;
  }
  if (resolved === undefined) {
    // If-Match named this version, yet the condition failed: the item was read after a later
    // write (the engine returned no image). It failed If-Match when it was checked.
    throw preconditionFailed();
  }
  return resolved;
}

/**
 * DELETE. A retried attempt whose predecessor was applied finds the item gone; so does one that
 * lost a race with another client's delete, and one whose earlier attempt never reached DynamoDB
 * for an item that never existed. Only an item that is gone after more than one attempt is
 * answered 204: DELETE is idempotent (RFC 9110 §9.2.2), the state the client asked for holds,
 * and the alternative would answer 404 to a delete that was applied. After a single attempt,
 * a missing item is 404 as always.
 */
export async function deleteItem(store: Store, id: string, versions: number[] | undefined): Promise<void> {
  const builder = expressionBuilder();
  const conditions = [`attribute_exists(${builder.name("id")})`, ...versionCondition(builder, versions)];
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new DeleteCommand({
        TableName: store.itemsTable,
        Key: { id },
        ConditionExpression: conditions.join(" AND "),
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: Object.keys(builder.values).length > 0 ? builder.values : undefined,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  if (outcome.ok) {
    return;
  }
  // Without If-Match the only condition is existence: the item was missing, no read needed.
  const found = versions === undefined ? undefined : await itemAfterFailure(store, id, outcome);
  if (found !== undefined) {
    throw preconditionFailed();
  }
  if (!outcome.retried) {
    throw notFound();
  }
}

/** Update actions and conditions of a PATCH, before they are joined into expressions. */
interface PatchActions {
  sets: string[];
  removes: string[];
  conditions: string[];
}

/**
 * Compiles the attribute part of a merge patch into update actions on `attrs`. An object merges
 * key by key into a map (condition: it is a map); into anything else, a missing attribute
 * included, it is RFC 7396's result, the patch without its nulls, SET in one action (condition:
 * it is not a map). `known` is the item's current value at `prefix` when a failed round showed
 * it; without it every object is taken to merge into a map.
 */
function compileAttributePatch(
  builder: Builder,
  prefix: string[],
  patch: JsonObject,
  known: Json | undefined,
  shapeKnown: boolean,
  actions: PatchActions,
): void {
  for (const [key, value] of Object.entries(patch)) {
    const path = [...prefix, key];
    const current = isJsonObject(known) ? known[key] : undefined;
    if (value === null) {
      actions.removes.push(builder.path(path));
    } else if (isJsonObject(value) && (!shapeKnown || isJsonObject(current))) {
      actions.conditions.push(`attribute_type(${builder.path(path)}, ${builder.value("M")})`);
      compileAttributePatch(builder, path, value, current, shapeKnown, actions);
    } else if (isJsonObject(value)) {
      actions.conditions.push(`NOT attribute_type(${builder.path(path)}, ${builder.value("M")})`);
      actions.sets.push(`${builder.path(path)} = ${builder.value(applyMergePatch(undefined, value))}`);
    } else {
      actions.sets.push(`${builder.path(path)} = ${builder.value(value)}`);
    }
  }
}

/**
 * The 50-attribute limit as a condition. Without knowledge of the item: room for every non-null
 * key to be new. When a failed round showed the item and that bound does not hold, the exact
 * count: keys seen present are required present, and the size must leave room for the rest.
 */
function attributeLimitConditions(builder: Builder, patch: JsonObject, known: StoredItem | undefined): string[] {
  const keys = Object.keys(patch);
  const nonNull = keys.filter((key) => patch[key] !== null);
  if (nonNull.length === 0) {
    return [];
  }
  const attrs = builder.name("attrs");
  const worstCase = LIMITS.maxAttributes - nonNull.length;
  if (known === undefined || Object.keys(known.attrs).length <= worstCase) {
    return [`size(${attrs}) <= ${builder.value(worstCase)}`];
  }
  const present = keys.filter((key) => key in known.attrs);
  const added = nonNull.filter((key) => !(key in known.attrs)).length;
  const removed = present.filter((key) => patch[key] === null).length;
  if (Object.keys(known.attrs).length + added - removed > LIMITS.maxAttributes) {
    throw tooManyAttributes();
  }
  return [
    ...present.map((key) => `attribute_exists(${builder.path(["attrs", key])})`),
    `size(${attrs}) <= ${builder.value(LIMITS.maxAttributes - added + removed)}`,
  ];
}

/** One PATCH round as a single conditional UpdateItem; undefined when it exceeds DynamoDB's 4 KB. */
function compilePatch(
  store: Store,
  id: string,
  patch: ItemPatch,
  now: string,
  versions: number[] | undefined,
  known: StoredItem | undefined,
) {
  const builder = expressionBuilder();
  const actions: PatchActions = { sets: [], removes: [], conditions: [] };
  compileAttributePatch(builder, ["attrs"], patch.attrs, known?.attrs, known !== undefined, actions);
  if (patch.name !== undefined) {
    actions.sets.push(`${builder.name("name")} = ${builder.value(patch.name)}`);
  }
  if (patch.description !== undefined) {
    actions.sets.push(`${builder.name("description")} = ${builder.value(patch.description)}`);
  }
  actions.sets.push(`${builder.name("version")} = ${builder.name("version")} + ${builder.value(1)}`);
  actions.sets.push(`${builder.name("updatedAt")} = ${builder.value(now)}`);
  const token = writeTokenClauses(builder, writeTokenOf(store));
  actions.sets.push(...token.sets);
  const conditions = [
    `attribute_exists(${builder.name("id")})`,
    ...versionCondition(builder, versions),
    token.condition,
    ...attributeLimitConditions(builder, patch.attrs, known),
    ...actions.conditions,
  ];
  const updateExpression =
    `SET ${actions.sets.join(", ")}` + (actions.removes.length > 0 ? ` REMOVE ${actions.removes.join(", ")}` : "");
  const conditionExpression = conditions.join(" AND ");
  if (updateExpression.length > MAX_EXPRESSION_LENGTH || conditionExpression.length > MAX_EXPRESSION_LENGTH) {
    return undefined;
  }
  return new UpdateCommand({
    TableName: store.itemsTable,
    Key: { id },
    UpdateExpression: updateExpression,
    ConditionExpression: conditionExpression,
    ExpressionAttributeNames: builder.names,
    ExpressionAttributeValues: builder.values,
    ReturnValues: "ALL_NEW",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  });
}

/** Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
function backoff(round: number): Promise<void> {
  const ceiling = Math.min(PATCH_BACKOFF_MS.cap, PATCH_BACKOFF_MS.base * 2 ** round);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * PATCH (JSON Merge Patch). Each round is one conditional UpdateItem: without If-Match it is
 * conditioned only on the item's existence and shape, so concurrent patches all land. A round
 * whose guess at the shape was wrong learns the shape from the failure (the image, or one
 * consistent read) and tries again at once; a round that another writer's change defeated backs
 * off first. A patch too large for one expression is merged in memory instead (`patchByMerging`).
 */
export async function patchItem(
  store: Store,
  id: string,
  patch: ItemPatch,
  now: string,
  versions: number[] | undefined,
): Promise<StoredItem> {
  let known: ItemRecord | undefined;
  for (let round = 0; round < MAX_PATCH_ROUNDS; round++) {
    if (round >= 2) {
      await backoff(round - 2);
    }
    const command = compilePatch(store, id, patch, now, versions, known?.item);
    if (command === undefined) {
      return patchByMerging(store, id, patch, now, versions, known);
    }
    const outcome = await attempt(store, (options) => store.doc.send(command, options));
    if (outcome.ok) {
      return updatedItem(id, outcome.value.Attributes);
    }
    known = await itemAfterFailure(store, id, outcome);
    // Without If-Match a merge is conditioned on shape too: an existing item proves nothing.
    const resolved = resolveFailedWrite(store, known, versions, false);
    if (resolved instanceof Error) {
      throw resolved;
    }
    if (resolved !== undefined) {
      return resolved;
    }
  }
  throw unavailable(new Error(`item ${id} stayed contended for ${MAX_PATCH_ROUNDS} rounds`));
}

/**
 * A patch too large for one update expression: read, merge in memory, write the client fields
 * whole, conditioned on the version read. Each round reads afresh (after a backoff, a view is
 * stale), except the first when a failed one-update round has just shown the item.
 */
async function patchByMerging(
  store: Store,
  id: string,
  patch: ItemPatch,
  now: string,
  versions: number[] | undefined,
  shown: ItemRecord | undefined,
): Promise<StoredItem> {
  for (let round = 0; round < MAX_PATCH_ROUNDS; round++) {
    if (round > 0) {
      await backoff(round - 1);
    }
    const current = round === 0 && shown !== undefined ? shown : await readRecord(store, id);
    const resolved = resolveFailedWrite(store, current, versions, false);
    if (resolved !== undefined) {
      if (resolved instanceof Error) {
        throw resolved;
      }
      return resolved;
    }
    const item = current?.item;
    if (item === undefined) {
      throw notFound();
    }
    const outcome = await overwriteItem(store, id, mergeItem(item, patch), now, [item.version], item);
    if (outcome.ok) {
      return outcome.value;
    }
    // The image DynamoDB returned may already tell (this request's own write, or 404, or 412);
    // if not, another writer got in between, and the next round reads the item again.
    const shownNow = recordOf(outcome.image);
    const told = shownNow === undefined ? undefined : resolveFailedWrite(store, shownNow, versions, false);
    if (told instanceof Error) {
      throw told;
    }
    if (told !== undefined) {
      return told;
    }
  }
  throw unavailable(new Error(`item ${id} stayed contended for ${MAX_PATCH_ROUNDS} rounds`));
}

/** One Scan page. Asks for one item more than the page holds, so the last page has no cursor. */
export async function scanItems(
  store: Store,
  limit: number,
  startAfterId: string | undefined,
): Promise<{ items: StoredItem[]; lastId: string | undefined }> {
  const result = await call(store, (options) =>
    store.doc.send(
      new ScanCommand({
        TableName: store.itemsTable,
        Limit: limit + 1,
        ConsistentRead: true,
        ExclusiveStartKey: startAfterId === undefined ? undefined : { id: startAfterId },
      }),
      options,
    ),
  );
  const scanned = result.Items ?? [];
  // The cursor follows what DynamoDB returned, so a record that is not an item never shifts it.
  const onPage = scanned.length > limit ? scanned.slice(0, limit) : scanned;
  const lastKey: unknown = scanned.length > limit ? onPage[onPage.length - 1]?.id : result.LastEvaluatedKey?.id; // else the table ended or the 1 MB page limit cut in
  return {
    items: onPage.map(asItem).filter((item): item is StoredItem => item !== undefined),
    lastId: typeof lastKey === "string" ? lastKey : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Idempotency records (their own table, TTL on `expiresAt`).

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
