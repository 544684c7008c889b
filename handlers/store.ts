/**
 * Data access: every DynamoDB expression lives here. Attribute names always go through
 * `ExpressionAttributeNames` placeholders and values through `ExpressionAttributeValues`, so
 * reserved words (`name`, `status`, `data`) work and client-chosen names are never evaluated.
 * SDK errors are translated into HTTP errors at this boundary.
 *
 * Single-item operations make one round trip; a conditional failure is resolved by one
 * consistent read on the failure path only (the embedded engine lacks
 * ReturnValuesOnConditionCheckFailure, so it is used when present but never relied on).
 */
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
  isJsonObject,
  isStoredItem,
  mergeItem,
} from "./item";

export interface Store {
  doc: DynamoDBDocumentClient;
  itemsTable: string;
  idempotencyTable: string;
  /** Aborts calls that would outlive the invocation, so a slow store answers 503, not a timeout. */
  abortSignal?: AbortSignal;
  /** Capacity units this request consumed, summed over its calls (for the request log). */
  consumed: { capacityUnits: number };
}

/** UpdateExpression and ConditionExpression are limited to 4 KB each. */
const MAX_EXPRESSION_LENGTH = 4000;
/** Optimistic retries of the read-merge-write path of PATCH under contention. */
const MAX_MERGE_ATTEMPTS = 5;

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
    return httpError(413, "payload_too_large", "the item would exceed DynamoDB's 400 KB item size limit", {}, error);
  }
  return internalError(error);
}

interface CallOptions {
  abortSignal?: AbortSignal;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; oldImage: unknown };

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
      return { ok: false, oldImage: (error as { Item?: unknown }).Item };
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

/** Builds placeholder maps; the same name or path segment always gets the same placeholder. */
function expressionBuilder() {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  let nameCount = 0;
  let valueCount = 0;
  return {
    name(attribute: string): string {
      for (const [placeholder, existing] of Object.entries(names)) {
        if (existing === attribute) {
          return placeholder;
        }
      }
      const placeholder = `#n${nameCount++}`;
      names[placeholder] = attribute;
      return placeholder;
    },
    path(segments: string[]): string {
      return segments.map((segment) => this.name(segment)).join(".");
    },
    value(value: unknown): string {
      const placeholder = `:v${valueCount++}`;
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
    // Only weak tags were sent, and If-Match compares strongly: no version can match.
    return [`attribute_not_exists(${builder.name("id")})`];
  }
  return [`${builder.name("version")} IN (${versions.map((version) => builder.value(version)).join(", ")})`];
}

function asItem(value: unknown): StoredItem | undefined {
  return isStoredItem(value) ? value : undefined;
}

export async function getItem(store: Store, id: string): Promise<StoredItem | undefined> {
  const result = await call(store, (options) =>
    store.doc.send(new GetCommand({ TableName: store.itemsTable, Key: { id }, ConsistentRead: true }), options),
  );
  return asItem(result.Item);
}

/** Resolves a conditional failure: 404 when the item is missing, else 412 (its version differed). */
async function explainConditionalFailure(store: Store, id: string, oldImage: unknown): Promise<Error> {
  const current = asItem(oldImage) ?? (await getItem(store, id));
  return current === undefined ? notFound() : preconditionFailed();
}

/**
 * Writes a new item. When `mayExist` (an idempotent create taking over an abandoned attempt
 * that chose this id), an item already stored under the id is returned instead.
 */
export async function putNewItem(store: Store, item: StoredItem, mayExist = false): Promise<StoredItem | undefined> {
  const builder = expressionBuilder();
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new PutCommand({
        TableName: store.itemsTable,
        Item: item,
        ConditionExpression: `attribute_not_exists(${builder.name("id")})`,
        ExpressionAttributeNames: builder.names,
      }),
      options,
    ),
  );
  if (outcome.ok) {
    return undefined;
  }
  const existing = mayExist ? await getItem(store, item.id) : undefined;
  if (existing === undefined) {
    throw internalError(new Error(`generated id ${item.id} already exists`));
  }
  return existing;
}

/** Sets every client field and bumps the version, conditioned on existence and If-Match. */
async function overwriteItem(
  store: Store,
  id: string,
  input: ItemInput,
  now: string,
  versions: number[] | undefined,
): Promise<Outcome<StoredItem>> {
  const builder = expressionBuilder();
  const idName = builder.name("id");
  const sets = [
    `${builder.name("name")} = ${builder.value(input.name)}`,
    `${builder.name("description")} = ${builder.value(input.description)}`,
    `${builder.name("attrs")} = ${builder.value(input.attrs)}`,
    `${builder.name("version")} = ${builder.name("version")} + ${builder.value(1)}`,
    `${builder.name("updatedAt")} = ${builder.value(now)}`,
  ];
  const conditions = [`attribute_exists(${idName})`, ...versionCondition(builder, versions)];
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new UpdateCommand({
        TableName: store.itemsTable,
        Key: { id },
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: conditions.join(" AND "),
        ExpressionAttributeNames: builder.names,
        ExpressionAttributeValues: builder.values,
        ReturnValues: "ALL_NEW",
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
      options,
    ),
  );
  return outcome.ok ? { ok: true, value: updatedItem(id, outcome.value.Attributes) } : outcome;
}

function updatedItem(id: string, attributes: unknown): StoredItem {
  const item = asItem(attributes);
  if (item === undefined) {
    throw internalError(new Error(`item ${id} has an unexpected shape after update`));
  }
  return item;
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
  if (!outcome.ok) {
    throw versions === undefined ? notFound() : await explainConditionalFailure(store, id, outcome.oldImage);
  }
  return outcome.value;
}

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
  if (!outcome.ok) {
    throw versions === undefined ? notFound() : await explainConditionalFailure(store, id, outcome.oldImage);
  }
}

/**
 * Compiles the attribute part of a merge patch into update actions on `attrs`. Nested objects
 * merge key by key, which is only RFC 7396 when the target value is a map: each such path adds
 * an `attribute_type(path, M)` condition, and the slow path handles the other cases.
 */
function compileAttributePatch(
  builder: Builder,
  prefix: string[],
  patch: JsonObject,
  actions: { sets: string[]; removes: string[]; conditions: string[] },
): void {
  for (const [key, value] of Object.entries(patch)) {
    const path = [...prefix, key];
    if (value === null) {
      actions.removes.push(builder.path(path));
    } else if (isJsonObject(value)) {
      actions.conditions.push(`attribute_type(${builder.path(path)}, ${builder.value("M")})`);
      compileAttributePatch(builder, path, value, actions);
    } else {
      actions.sets.push(`${builder.path(path)} = ${builder.value(value)}`);
    }
  }
}

/**
 * PATCH in one round trip when it can be expressed as a conditional update; otherwise (the
 * merge replaces a non-map with an object, the item nears its attribute limit, or the patch
 * is too large for one expression) a consistent read, an in-memory merge and a write
 * conditioned on the version that was read.
 */
export async function patchItem(
  store: Store,
  id: string,
  patch: ItemPatch,
  now: string,
  versions: number[] | undefined,
): Promise<StoredItem> {
  const builder = expressionBuilder();
  const idName = builder.name("id");
  const actions = { sets: [] as string[], removes: [] as string[], conditions: [] as string[] };
  compileAttributePatch(builder, ["attrs"], patch.attrs, actions);
  if (patch.name !== undefined) {
    actions.sets.push(`${builder.name("name")} = ${builder.value(patch.name)}`);
  }
  if (patch.description !== undefined) {
    actions.sets.push(`${builder.name("description")} = ${builder.value(patch.description)}`);
  }
  actions.sets.push(`${builder.name("version")} = ${builder.name("version")} + ${builder.value(1)}`);
  actions.sets.push(`${builder.name("updatedAt")} = ${builder.value(now)}`);
  // Worst case every non-null top-level key is new: the current count must leave room for all.
  const added = Object.values(patch.attrs).filter((value) => value !== null).length;
  const conditions = [
    `attribute_exists(${idName})`,
    ...versionCondition(builder, versions),
    ...(added > 0 ? [`size(${builder.name("attrs")}) <= ${builder.value(LIMITS.maxAttributes - added)}`] : []),
    ...actions.conditions,
  ];
  const updateExpression =
    `SET ${actions.sets.join(", ")}` + (actions.removes.length > 0 ? ` REMOVE ${actions.removes.join(", ")}` : "");
  const conditionExpression = conditions.join(" AND ");
  if (updateExpression.length <= MAX_EXPRESSION_LENGTH && conditionExpression.length <= MAX_EXPRESSION_LENGTH) {
    const outcome = await attempt(store, (options) =>
      store.doc.send(
        new UpdateCommand({
          TableName: store.itemsTable,
          Key: { id },
          UpdateExpression: updateExpression,
          ConditionExpression: conditionExpression,
          ExpressionAttributeNames: builder.names,
          ExpressionAttributeValues: builder.values,
          ReturnValues: "ALL_NEW",
        }),
        options,
      ),
    );
    if (outcome.ok) {
      return updatedItem(id, outcome.value.Attributes);
    }
  }
  return patchByMerging(store, id, patch, now, versions);
}

async function patchByMerging(
  store: Store,
  id: string,
  patch: ItemPatch,
  now: string,
  versions: number[] | undefined,
): Promise<StoredItem> {
  for (let attempt = 0; attempt < MAX_MERGE_ATTEMPTS; attempt++) {
    const current = await getItem(store, id);
    if (current === undefined) {
      throw notFound();
    }
    if (versions !== undefined && !versions.includes(current.version)) {
      throw preconditionFailed();
    }
    const merged = mergeItem(current, patch);
    const outcome = await overwriteItem(store, id, merged, now, [current.version]);
    if (outcome.ok) {
      return outcome.value;
    }
    // Another writer got in between the read and the write: read again.
  }
  throw unavailable(new Error(`item ${id} stayed contended for ${MAX_MERGE_ATTEMPTS} attempts`));
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
  const holder = asRecord(outcome.oldImage) ?? (await readIdempotencyRecord(store, record.id));
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
