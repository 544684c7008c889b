/**
 * DynamoDB plumbing shared by the stores (item-store.ts, idempotency-store.ts): the request's
 * handle on the tables, one call with its failed condition told apart and every other SDK error
 * translated into the error clients see, the image a failed condition carries as plain JSON, and
 * the placeholder builder through which every expression names attributes and values (so
 * reserved words such as `name`, `status`, `data` work and client-chosen names are never
 * evaluated).
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { httpError, internalError, unavailable } from "./errors";
import { Json, JsonObject, isJsonObject } from "./model";

/**
 * One request's handle on the tables, which every store function takes. Mutable: the request
 * adds up its consumed capacity here and keeps its write token.
 */
export interface RequestStore {
  doc: DynamoDBDocumentClient;
  /** The caller's partition (handlers/caller.ts): every key this request builds leads with it. */
  owner: string;
  itemsTable: string;
  idempotencyTable: string;
  /** Aborts calls that would outlive the invocation, so a slow store answers 503, not a timeout. */
  abortSignal?: AbortSignal;
  /** Capacity units this request consumed, summed over its calls (for the request log). */
  consumed: { capacityUnits: number };
  /**
   * This request's write token (item-store.ts `writeTokenOf`), made at its first write: one per
   * request, so that every SDK attempt and every round of a PATCH carries the same one.
   */
  writeToken?: string;
}

/**
 * SDK error names a later retry may not meet: throttling (`Throttling` is the Query APIs' code,
 * STS's among them; the SDK's own retry classification lists both names, in node_modules/@smithy/
 * core, submodules/retry, THROTTLING_ERROR_CODES), DynamoDB's server faults and conflicts, and
 * attempts that timed out or were aborted at the invocation's deadline.
 */
const TRANSIENT_ERROR_NAMES: readonly string[] = [
  "ProvisionedThroughputExceededException",
  "Throttling",
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
/** Node's error codes for a DynamoDB endpoint that cannot be reached. */
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

/** Whether an AWS call failed in a way a later retry may not meet (answered 503 with Retry-After). */
export function isTransient(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return TRANSIENT_ERROR_NAMES.includes(name) || (code !== undefined && NETWORK_ERROR_CODES.includes(code));
}

export interface CallOptions {
  abortSignal?: AbortSignal;
}

/**
 * A failed condition: the item as DynamoDB saw it when the condition failed, when it returned it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD` puts it in the ConditionalCheckFailedException's
 * `Item`: DynamoDB API Reference, PutItem / UpdateItem / DeleteItem), and whether the SDK made
 * more than one attempt (an earlier one may have been applied and answered by a timeout).
 */
export interface ConditionFailure {
  ok: false;
  image: JsonObject | undefined;
  retried: boolean;
}

export type ConditionalOutcome<T> = { ok: true; value: T } | ConditionFailure;

/**
 * Runs one DynamoDB call. A failed condition becomes `{ ok: false }` with the old image when
 * the engine returned one; every other failure is translated for clients: 503 for anything a
 * retry could fix. (Its steps are written inline: CallbackFunction's serializer gives every
 * module-level function a wrapper of its own in the archive, bench/README.md.)
 */
export async function attempt<T>(
  store: RequestStore,
  call: (options: CallOptions) => Promise<T>,
): Promise<ConditionalOutcome<T>> {
  let value: T;
  try {
    value = await call({ abortSignal: store.abortSignal });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "ConditionalCheckFailedException") {
      // The SDK's attempt count, which its retry middleware sets on every error it finally throws.
      const metadata: unknown = Reflect.get(error as object, "$metadata");
      const attempts: unknown = isJsonObject(metadata) ? metadata.attempts : undefined;
      const image = plainItemOf(Reflect.get(error as object, "Item"));
      return { ok: false, image, retried: typeof attempts === "number" && attempts > 1 };
    }
    if (isTransient(error)) {
      throw unavailable(error);
    }
    if (name === "ValidationException" && error instanceof Error && /item size/i.test(error.message)) {
      throw httpError("payload_too_large", "the item would exceed DynamoDB's 400 KB item size limit", {}, error);
    }
    throw internalError(error);
  }
  // `ConsumedCapacity.CapacityUnits` of the response (the client asks for TOTAL on every call).
  const capacity: unknown = isJsonObject(value) ? value.ConsumedCapacity : undefined;
  const units: unknown = isJsonObject(capacity) ? capacity.CapacityUnits : undefined;
  store.consumed.capacityUnits += typeof units === "number" ? units : 0;
  return { ok: true, value };
}

/** For calls without a condition. */
export async function call<T>(store: RequestStore, run: (options: CallOptions) => Promise<T>): Promise<T> {
  const outcome = await attempt(store, run);
  if (!outcome.ok) {
    throw internalError(new Error("unconditional call failed its condition"));
  }
  return outcome.value;
}

/**
 * A record in DynamoDB's form (`{ "id": { "S": "..." } }`) as plain JSON, for the types items
 * hold; undefined if it is not one. lib-dynamodb converts command outputs only (its
 * DocumentUnmarshall middleware): the image on a ConditionalCheckFailedException arrives in
 * DynamoDB's own form.
 */
function plainItemOf(record: unknown): JsonObject | undefined {
  const plainValueOf = (value: unknown): Json | undefined => {
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
  };
  if (!isJsonObject(record)) {
    return undefined;
  }
  const entries: [string, Json][] = [];
  for (const [key, value] of Object.entries(record)) {
    const converted = plainValueOf(value);
    if (converted === undefined) {
      return undefined;
    }
    entries.push([key, converted]);
  }
  // Own properties whatever the names (an assignment to `__proto__` would set the prototype).
  return Object.fromEntries(entries);
}

/**
 * Builds placeholder maps; the same name or path segment always gets the same placeholder.
 * Placeholders count in the 4 KB expression limits: base-36 numbers keep them short.
 */
export function expressionBuilder() {
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

export type ExpressionBuilder = ReturnType<typeof expressionBuilder>;
