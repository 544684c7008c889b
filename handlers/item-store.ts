/**
 * The item store: reading, inserting, overwriting, patching, removing and scanning items, each
 * single-item write one conditional round trip. A failed condition is explained from the item
 * DynamoDB returns with it (ReturnValuesOnConditionCheckFailure, see dynamodb.ts `attempt`), or,
 * where the engine returns none (the embedded engine lacks it), by one consistent read on the
 * failure path only.
 *
 * Every write is safe to retry. The SDK retries an attempt that timed out, and that attempt may
 * have been applied: its retry then meets the state the first attempt wrote. So each request
 * carries a write token, every write stores it on the item (which keeps the tokens of its last
 * WRITE_TOKEN_HISTORY writes) and is conditioned on its absence: a retry of an applied write fails
 * its condition instead of applying twice, and the failure path, finding its own token, answers
 * with the item as it stands, never 412, 404 or 500.
 */
import { randomBytes } from "crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import {
  ConditionFailure,
  ExpressionBuilder,
  ConditionalOutcome,
  RequestStore,
  attempt,
  call,
  expressionBuilder,
} from "./dynamodb";
import { httpError, internalError, unavailable } from "./errors";
import { CLIENT_FIELDS, READ_ONLY_FIELDS } from "./fields";
import { ItemInput, ItemPatch, StoredItem, isJsonObject, mergeItem, pick, storedItemOf } from "./model";
import { PatchActions, attributeLimitConditions, compileAttributePatch } from "./patch-expression";
import { Preconditions, failedPrecondition, isConditional } from "./request";

/**
 * Rounds of a PATCH: the first guesses that every object in the patch merges into a map; a
 * failed guess costs one more round (with the item's shape known), and a round lost to another
 * writer a jittered backoff (PATCH_BACKOFF_MS doubling, capped) before the next. Past the last
 * round, or the function's deadline, the answer is 503.
 */
const MAX_PATCH_ROUNDS = 25;
const PATCH_BACKOFF_MS = { base: 10, cap: 1000 };
/**
 * DynamoDB limits UpdateExpression and ConditionExpression to 4 KB each (Amazon DynamoDB
 * Developer Guide, "Constraints in Amazon DynamoDB", Expression parameters).
 */
const MAX_EXPRESSION_LENGTH = 4000;

/**
 * How many writes back an item remembers write tokens (`wt0` newest .. `wt15`). A retried write
 * still recognises itself as long as fewer than this many other writes landed on the item
 * between its lost answer and its retry (the retry follows within the per-attempt timeout).
 */
const WRITE_TOKEN_HISTORY = 16;
const WRITE_TOKEN_ATTRIBUTES: readonly string[] = Array.from({ length: WRITE_TOKEN_HISTORY }, (_, slot) => `wt${slot}`);
const NEWEST_WRITE_TOKEN = "wt0";

/** 96 random bits: unique per request, short enough to keep 16 of them on every item. */
export function writeTokenOf(store: RequestStore): string {
  store.writeToken ??= randomBytes(12).toString("base64url");
  return store.writeToken;
}

/**
 * The preconditions of a write as parts of its condition (RFC 9110 §13.1): If-Match names the
 * versions it may change (none usable: a condition that always fails), If-None-Match the ones it
 * may not (`*`: an item that exists, which every write requires, so it always fails). A failed
 * write is then told apart by the item it failed on (`resolveFailedWrite`).
 */
function preconditionClauses(builder: ExpressionBuilder, { ifMatch, ifNoneMatch }: Preconditions): string[] {
  const clauses: string[] = [];
  const versionIn = (versions: number[]) =>
    `${builder.name("version")} IN (${versions.map((version) => builder.value(version)).join(", ")})`;
  const never = () => `attribute_not_exists(${builder.name("id")})`;
  if (ifMatch !== undefined && !ifMatch.any) {
    clauses.push(ifMatch.versions.length > 0 ? versionIn(ifMatch.versions) : never());
  }
  if (ifNoneMatch !== undefined && (ifNoneMatch.any || ifNoneMatch.versions.length > 0)) {
    clauses.push(ifNoneMatch.any ? never() : `NOT (${versionIn(ifNoneMatch.versions)})`);
  }
  return clauses;
}

/**
 * The UpdateItem of a PUT or of a PATCH round: `actions` (the attributes' part: a PUT's whole
 * `attrs`, a PATCH's compiled paths and the conditions they rely on), and what every such write
 * adds. The client fields are set, or removed when `fields` sets them to null or, for a write that
 * `replaces` them all, leaves them out; the version goes up by one and `updatedAt` is stamped; the
 * request's write token is pushed onto the item's history (every operand reads the item as it
 * was, so `wt1 = wt0` takes the old `wt0`). The write holds only on an item that exists, meets the
 * preconditions and does not hold the token yet (a missing attribute equals nothing).
 * Undefined when an expression exceeds DynamoDB's 4 KB.
 */
function clientFieldsUpdate(
  store: RequestStore,
  id: string,
  builder: ExpressionBuilder,
  actions: PatchActions,
  write: { fields: ItemPatch; replaces: boolean; now: string; preconditions: Preconditions; returnsItem: boolean },
): UpdateCommand | undefined {
  for (const name of CLIENT_FIELDS) {
    const value = write.fields[name];
    if (value === null || (value === undefined && write.replaces)) {
      actions.removes.push(builder.name(name));
    } else if (value !== undefined) {
      actions.sets.push(`${builder.name(name)} = ${builder.value(value)}`);
    }
  }
  actions.sets.push(`${builder.name("version")} = ${builder.name("version")} + ${builder.value(1)}`);
  actions.sets.push(`${builder.name("updatedAt")} = ${builder.value(write.now)}`);
  const token = builder.value(writeTokenOf(store));
  const none = builder.value("");
  const slots = WRITE_TOKEN_ATTRIBUTES.map((attribute) => builder.name(attribute));
  actions.sets.push(
    ...slots.map((slot, index) =>
      index === 0 ? `${slot} = ${token}` : `${slot} = if_not_exists(${slots[index - 1]}, ${none})`,
    ),
  );
  const conditions = [
    `attribute_exists(${builder.name("id")})`,
    ...preconditionClauses(builder, write.preconditions),
    `NOT (${slots.map((slot) => `${slot} = ${token}`).join(" OR ")})`,
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
    Key: { owner: store.owner, id },
    UpdateExpression: updateExpression,
    ConditionExpression: conditionExpression,
    ExpressionAttributeNames: builder.names,
    ExpressionAttributeValues: builder.values,
    ReturnValues: write.returnsItem ? "ALL_NEW" : "NONE",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  });
}

/** A stored item and the write tokens it remembers. */
interface ItemRecord {
  item: StoredItem;
  tokens: string[];
}

function recordOf(value: unknown): ItemRecord | undefined {
  const item = storedItemOf(value);
  if (item === undefined || !isJsonObject(value)) {
    return undefined;
  }
  const tokens = WRITE_TOKEN_ATTRIBUTES.map((attribute) => value[attribute]).filter(
    (token): token is string => typeof token === "string" && token !== "",
  );
  return { item, tokens };
}

async function readRecord(store: RequestStore, id: string): Promise<ItemRecord | undefined> {
  const result = await call(store, (options) =>
    store.doc.send(
      new GetCommand({ TableName: store.itemsTable, Key: { owner: store.owner, id }, ConsistentRead: true }),
      options,
    ),
  );
  return recordOf(result.Item);
}

export async function readItem(store: RequestStore, id: string): Promise<StoredItem | undefined> {
  return (await readRecord(store, id))?.item;
}

/** The item when a write's condition failed: the image DynamoDB returned, else one consistent read. */
async function itemAfterFailure(
  store: RequestStore,
  id: string,
  failure: ConditionFailure,
): Promise<ItemRecord | undefined> {
  return recordOf(failure.image) ?? (await readRecord(store, id));
}

/**
 * Writes a new item. When `mayExist` (an idempotent create taking over an abandoned attempt
 * that chose this id), an item already stored under the id is returned instead. So is the item
 * this request stored itself, when the SDK retried an attempt that had been applied.
 */
export async function insertItem(
  store: RequestStore,
  item: StoredItem,
  mayExist = false,
): Promise<StoredItem | undefined> {
  const builder = expressionBuilder();
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new PutCommand({
        TableName: store.itemsTable,
        Item: { owner: store.owner, ...item, [NEWEST_WRITE_TOKEN]: writeTokenOf(store) },
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
  if (existing === undefined || !(mayExist || existing.tokens.includes(writeTokenOf(store)))) {
    throw internalError(new Error(`generated id ${item.id} already exists`));
  }
  return existing.item;
}

/**
 * Sets every client field and bumps the version, conditioned on existence, the preconditions and
 * the request's write token. `onto` is the item as read when the preconditions name exactly its version:
 * the result is then known, and DynamoDB sends nothing back.
 */
async function writeClientFields(
  store: RequestStore,
  id: string,
  input: ItemInput,
  now: string,
  preconditions: Preconditions,
  onto?: StoredItem,
): Promise<ConditionalOutcome<StoredItem>> {
  const builder = expressionBuilder();
  const actions: PatchActions = {
    sets: [`${builder.name("attrs")} = ${builder.value(input.attrs)}`],
    removes: [],
    conditions: [],
  };
  const command = clientFieldsUpdate(store, id, builder, actions, {
    fields: input,
    replaces: true,
    now,
    preconditions,
    returnsItem: onto === undefined,
  });
  if (command === undefined) {
    throw internalError(new Error(`the update of item ${id} exceeds DynamoDB's expression limit`));
  }
  const outcome = await attempt(store, (options) => store.doc.send(command, options));
  if (!outcome.ok) {
    return outcome;
  }
  const value =
    onto === undefined
      ? updatedItem(id, outcome.value.Attributes)
      : ({ ...pick(onto, READ_ONLY_FIELDS), ...input, version: onto.version + 1, updatedAt: now } as StoredItem);
  return { ok: true, value };
}

function updatedItem(id: string, attributes: unknown): StoredItem {
  const item = storedItemOf(attributes);
  if (item === undefined) {
    throw internalError(new Error(`item ${id} has an unexpected shape after update`));
  }
  return item;
}

/** The item as read, or as a failed write showed it; 404 when there is none. */
function existing(found: ItemRecord | undefined): ItemRecord {
  if (found === undefined) {
    throw httpError("not_found");
  }
  return found;
}

/**
 * What a failed PUT or PATCH condition means, from the item as it was found: this request's own
 * write there -> that write was applied (an SDK retry after a lost answer): the item as it
 * stands; a precondition the item fails -> 412, thrown. Otherwise undefined: the condition failed
 * on something else (a PATCH's guess at the item's shape), or on a state that has changed since.
 *
 * Without preconditions the only conditions are existence and the token, so an existing item
 * means the token was there when the condition was checked, even if more writes have pushed it
 * out of the history since (`lastWriteWins`).
 */
function resolveFailedWrite(
  store: RequestStore,
  found: ItemRecord,
  preconditions: Preconditions,
  lastWriteWins: boolean,
): StoredItem | undefined {
  if (found.tokens.includes(writeTokenOf(store)) || (lastWriteWins && !isConditional(preconditions))) {
    return found.item;
  }
  if (failedPrecondition(preconditions, found.item.version) !== undefined) {
    throw httpError("precondition_failed");
  }
  return undefined;
}

/** PUT: full replace of the client fields; never creates. */
export async function overwriteItem(
  store: RequestStore,
  id: string,
  input: ItemInput,
  now: string,
  preconditions: Preconditions,
): Promise<StoredItem> {
  const outcome = await writeClientFields(store, id, input, now, preconditions);
  if (outcome.ok) {
    return outcome.value;
  }
  const found = existing(await itemAfterFailure(store, id, outcome));
  const resolved = resolveFailedWrite(store, found, preconditions, true);
  if (resolved === undefined) {
    // The preconditions hold for the item as found, yet the condition failed: it was read after a
    // later write (the engine returned no image). They failed when they were checked.
    throw httpError("precondition_failed");
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
export async function removeItem(store: RequestStore, id: string, preconditions: Preconditions): Promise<void> {
  const builder = expressionBuilder();
  const conditions = [`attribute_exists(${builder.name("id")})`, ...preconditionClauses(builder, preconditions)];
  const outcome = await attempt(store, (options) =>
    store.doc.send(
      new DeleteCommand({
        TableName: store.itemsTable,
        Key: { owner: store.owner, id },
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
  // Without preconditions the only condition is existence: the item was missing, no read needed.
  // With them, an item that exists failed them (ids are never reused).
  const found = isConditional(preconditions) ? await itemAfterFailure(store, id, outcome) : undefined;
  if (found !== undefined) {
    throw httpError("precondition_failed");
  }
  if (!outcome.retried) {
    throw httpError("not_found");
  }
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
 * A merge is conditioned on shape too: a failed round's existing item proves nothing, so it is
 * resolved without last-writer-wins.
 */
export async function mergeIntoItem(
  store: RequestStore,
  id: string,
  patch: ItemPatch,
  now: string,
  preconditions: Preconditions,
): Promise<StoredItem> {
  let known: ItemRecord | undefined;
  for (let round = 0; round < MAX_PATCH_ROUNDS; round++) {
    if (round >= 2) {
      await backoff(round - 2);
    }
    const builder = expressionBuilder();
    const actions: PatchActions = { sets: [], removes: [], conditions: [] };
    compileAttributePatch(builder, ["attrs"], patch.attrs, known?.item.attrs, known !== undefined, actions);
    actions.conditions.push(...attributeLimitConditions(builder, patch.attrs, known?.item));
    const command = clientFieldsUpdate(store, id, builder, actions, {
      fields: patch,
      replaces: false,
      now,
      preconditions,
      returnsItem: true,
    });
    if (command === undefined) {
      return patchByMerging(store, id, patch, now, preconditions, known);
    }
    const outcome = await attempt(store, (options) => store.doc.send(command, options));
    if (outcome.ok) {
      return updatedItem(id, outcome.value.Attributes);
    }
    known = existing(await itemAfterFailure(store, id, outcome));
    const resolved = resolveFailedWrite(store, known, preconditions, false);
    if (resolved !== undefined) {
      return resolved;
    }
  }
  throw unavailable(new Error(`item ${id} stayed contended for ${MAX_PATCH_ROUNDS} rounds`));
}

/**
 * A patch too large for one update expression: read, merge in memory, write the client fields
 * whole, conditioned on the version read. Each round reads afresh (after a backoff, a view is
 * stale), except the first when a failed one-update round has just shown the item. A failed
 * write's image may already tell (this request's own write, or 404, or 412); if not, another
 * writer got in between, and the next round reads the item again.
 */
async function patchByMerging(
  store: RequestStore,
  id: string,
  patch: ItemPatch,
  now: string,
  preconditions: Preconditions,
  shown: ItemRecord | undefined,
): Promise<StoredItem> {
  for (let round = 0; round < MAX_PATCH_ROUNDS; round++) {
    if (round > 0) {
      await backoff(round - 1);
    }
    const current = existing(round === 0 && shown !== undefined ? shown : await readRecord(store, id));
    const resolved = resolveFailedWrite(store, current, preconditions, false);
    if (resolved !== undefined) {
      return resolved;
    }
    const { item } = current;
    // Exactly the version read: the condition of a write computed from the item as read.
    const readVersion: Preconditions = { ifMatch: { any: false, versions: [item.version] }, ifNoneMatch: undefined };
    const outcome = await writeClientFields(store, id, mergeItem(item, patch), now, readVersion, item);
    if (outcome.ok) {
      return outcome.value;
    }
    const shownNow = recordOf(outcome.image);
    const told = shownNow === undefined ? undefined : resolveFailedWrite(store, shownNow, preconditions, false);
    if (told !== undefined) {
      return told;
    }
  }
  throw unavailable(new Error(`item ${id} stayed contended for ${MAX_PATCH_ROUNDS} rounds`));
}

/** A page of the caller's items: its items, the id to continue after, and whether anything follows. */
export interface ItemsPage {
  items: StoredItem[];
  /** The id of the last record the page covers; undefined when it reaches the end of the partition. */
  continueAfter: string | undefined;
}

/**
 * One page of the caller's partition, newest first (a Query, never a Scan: ids are UUIDv7, so
 * the sort key orders by creation): at most `limit` items whose sizes (`sizeOf`) sum to at most
 * `budget`, the first item always included. It asks DynamoDB for one record more than it needs,
 * so that `continueAfter` is undefined exactly when the partition has nothing more: a Query cut
 * by DynamoDB's 1 MB limit (or holding fewer records than asked) is continued, never answered as
 * a page with a cursor to an empty one. Usually one call; more only when items are large enough
 * for 1 MB to hold fewer than `limit` of them, and then never more than the page's items plus one.
 */
export async function readItemsPage(
  store: RequestStore,
  limit: number,
  startAfterId: string | undefined,
  budget: { bytes: number; sizeOf: (item: StoredItem) => number },
): Promise<ItemsPage> {
  const items: StoredItem[] = [];
  const builder = expressionBuilder();
  const keyCondition = `${builder.name("owner")} = ${builder.value(store.owner)}`;
  let covered: string | undefined;
  let records = 0;
  let used = 0;
  let startKey: Record<string, unknown> | undefined =
    startAfterId === undefined ? undefined : { owner: store.owner, id: startAfterId };
  for (;;) {
    const result = await call(store, (options) =>
      store.doc.send(
        new QueryCommand({
          TableName: store.itemsTable,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeNames: builder.names,
          ExpressionAttributeValues: builder.values,
          ScanIndexForward: false,
          Limit: limit + 1 - records,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
        options,
      ),
    );
    for (const record of result.Items ?? []) {
      const item = storedItemOf(record);
      const size = item === undefined ? 0 : budget.sizeOf(item);
      // A record that is not an item is covered but not shown: it never shifts the cursor.
      if (records === limit || (item !== undefined && items.length > 0 && used + size > budget.bytes)) {
        return { items, continueAfter: covered };
      }
      records += 1;
      used += size;
      covered = typeof record.id === "string" ? record.id : covered;
      if (item !== undefined) {
        items.push(item);
      }
    }
    if (result.LastEvaluatedKey === undefined) {
      return { items, continueAfter: undefined };
    }
    startKey = result.LastEvaluatedKey;
  }
}
