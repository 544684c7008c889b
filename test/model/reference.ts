/**
 * The reference model of the Items API: what the README ("The HTTP API", "Users and sign-in")
 * and the decisions of issue 19 say the API answers, as an executable oracle. It is written from
 * those texts and imports nothing from handlers/, infra/ or local/: every limit, status and rule
 * is restated here (test/model/reference-ties.test.ts ties them to the code's own tables).
 *
 * `predict(request)` says which answers are right for a request in the current state, each with
 * what it does to the state; the model-based runs (commands.ts) send the request, keep the first
 * outcome whose `verify` finds nothing wrong, and `commit` it. Where the API may choose (ids and
 * timestamps, the fate of a request cut by `kill -9`), the model says what must hold (forms,
 * order, counts) and learns the rest from the answer.
 */
import { TIMESTAMP, UUID } from "../support/quick-start-items";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

// ---------------------------------------------------------------------------------------------
// The contract's facts, restated

export const MODEL_LIMITS = {
  nameMaxCharacters: 200,
  descriptionMaxCharacters: 2000,
  maxAttributes: 50,
  /** Containers deep: a scalar is 0, `[1]` is 1. */
  maxDepth: 8,
  maxNestedKeyLength: 255,
  maxBodyBytes: 64 * 1024,
  defaultPageSize: 20,
  maxPageSize: 100,
  idempotencyKeyMaxLength: 128,
  idempotencyWindowMs: 24 * 60 * 60 * 1000,
  /** Entity tags an If-Match or If-None-Match may list. */
  maxConditionTags: 100,
  maxSafeInteger: 2 ** 53 - 1,
  minNumberMagnitude: 1e-130,
  /** Seconds in `Retry-After` of 409, 429 and 503. */
  retryAfterSeconds: 1,
} as const;

/**
 * Each error code's status (README, the error table). A copy of handlers/errors.ts's table on
 * purpose: the oracle does not read the code's; reference-ties.test.ts holds the two equal.
 */
export const MODEL_ERROR_STATUS = {
  malformed_json: 400,
  validation_failed: 400,
  read_only_field: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_in_progress: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  throttled: 429,
  internal_error: 500,
  unavailable: 503,
  gateway_timeout: 504,
} as const;

export type ModelErrorCode = keyof typeof MODEL_ERROR_STATUS;

export const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const READ_ONLY_FIELDS: readonly string[] = ["id", "version", "createdAt", "updatedAt"];
/** Refused as keys anywhere in a body. */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];
/** The headers every response carries, whoever makes it. */
export const EVERY_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

/**
 * What the model needs to know of a stack (Pulumi.<stack>.yaml; reference-ties.test.ts holds
 * these to the files).
 */
export interface StackProfile {
  stack: "dev" | "prod";
  /** Users sign in: every item operation needs a user's ID token, and items belong to their creator. */
  signIn: boolean;
  apiKeyRequired: boolean;
  corsAllowedOrigins: readonly string[];
}

export const STACK_PROFILES: Record<StackProfile["stack"], StackProfile> = {
  dev: { stack: "dev", signIn: true, apiKeyRequired: false, corsAllowedOrigins: ["*"] },
  prod: { stack: "prod", signIn: true, apiKeyRequired: true, corsAllowedOrigins: ["https://app.example.com"] },
};

/** The `WWW-Authenticate` of a 401. */
export const WWW_AUTHENTICATE = 'Bearer realm="items-api"';

/**
 * A token the run holds for a user: an ID token of the stack's pool, or one the API must refuse
 * (expired, an access token, an ID token of another app client of the pool).
 */
export type TokenKind = "id" | "expired" | "access" | "other-client";

/** The owner of every item on a stack without sign-in. */
const ANONYMOUS = "anonymous";

/** The routes: methods per path, as the route table declares them (HEAD answered wherever GET is). */
const ROUTE_METHODS: Record<"collection" | "item", readonly string[]> = {
  collection: ["GET", "POST"],
  item: ["GET", "PUT", "PATCH", "DELETE"],
};

/** Methods a path answers: its routes, HEAD where GET is, and the CORS preflight. */
export function allowedMethods(resource: "collection" | "item"): string[] {
  const methods = [...ROUTE_METHODS[resource]];
  return [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
}

// ---------------------------------------------------------------------------------------------
// Requests and answers, as the model sees them

export interface ModelRequest {
  method: string;
  /** Path relative to the base URL, with a leading slash: `/items`, `/items/<id>`. */
  path: string;
  /** Query parameters in order (already decoded). */
  query: [string, string][];
  /** Header lines in order; a name may repeat. */
  headers: [string, string][];
  body?: Buffer;
}

export interface Observed {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body, undefined when empty or not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks arbitrary JSON answers
  json: any;
  /** Test clock (ms) just before sending and just after the answer ended. */
  sentAt: number;
  receivedAt: number;
}

/** One answer the contract allows, and what it does to the model once seen. */
export interface Outcome {
  /** For failure reports: what the model expected, in a line. */
  describe: string;
  verify(observed: Observed): string[];
  commit(observed: Observed): void;
}

/** Who answers: the function, API Gateway itself (no x-request-id), or a mock integration. */
type Source = "function" | "gateway" | "mock";

// ---------------------------------------------------------------------------------------------
// Items

export interface ModelItem {
  /** The user who created it (not shown by the API). */
  owner: string;
  id: string;
  name: string;
  description: string;
  /** Client attributes; names are data (a Map: no name can meet an inherited member). */
  attrs: Map<string, Json>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface ClientFields {
  name: string;
  description: string;
  attrs: Map<string, Json>;
}

/** JSON with object keys sorted: equal values give equal text, whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}

/** The item as the API shows it, as canonical JSON. */
export function canonicalItem(item: ModelItem): string {
  const entries: [string, Json][] = [
    ["id", item.id],
    ["name", item.name],
    ["description", item.description],
    ...item.attrs.entries(),
    ["version", item.version],
    ["createdAt", item.createdAt],
    ["updatedAt", item.updatedAt],
  ];
  return canonicalOfEntries(entries);
}

function canonicalOfEntries(entries: [string, Json][]): string {
  return `{${[...entries]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${JSON.stringify(key)}:${canonicalJson(value)}`)
    .join(",")}}`;
}

/** "The same body" for an Idempotency-Key: the validated input, key order aside. */
function requestHash(fields: ClientFields): string {
  return canonicalOfEntries([
    ["name", fields.name],
    ["description", fields.description],
    ["attrs", canonicalOfEntries([...fields.attrs.entries()]) as Json],
  ]);
}

/** The client fields of an answered item (JSON), to compare with a request's. */
function clientFieldsOf(json: Record<string, Json>): ClientFields {
  const attrs = new Map<string, Json>();
  for (const [key, value] of Object.entries(json)) {
    if (!["id", "name", "description", ...READ_ONLY_FIELDS].includes(key)) {
      attrs.set(key, value);
    }
  }
  return { name: String(json.name), description: String(json.description), attrs };
}

function itemFromJson(owner: string, json: Record<string, Json>): ModelItem {
  const fields = clientFieldsOf(json);
  return {
    owner,
    id: String(json.id),
    ...fields,
    version: Number(json.version),
    createdAt: String(json.createdAt),
    updatedAt: String(json.updatedAt),
  };
}

const isoOf = (ms: number): string => new Date(ms).toISOString();

/** When an answer may have been made: between sending and the end of the answer, or in a window. */
type TimeRule = { exactly: string } | { between: [number, number] | "request"; notBefore?: string };

function checkTime(label: string, value: unknown, rule: TimeRule, observed: Observed): string[] {
  if (typeof value !== "string" || !TIMESTAMP.test(value)) {
    return [`${label}: ${JSON.stringify(value)} is not an ISO-8601 UTC timestamp with milliseconds`];
  }
  if ("exactly" in rule) {
    return value === rule.exactly ? [] : [`${label}: ${value}, expected ${rule.exactly}`];
  }
  const [from, to] = rule.between === "request" ? [observed.sentAt, observed.receivedAt] : rule.between;
  const problems: string[] = [];
  // Millisecond clocks: the server's reading lies between the test's readings around the request.
  if (value < isoOf(from) || value > isoOf(to)) {
    problems.push(`${label}: ${value} is outside the time of the request ${isoOf(from)} .. ${isoOf(to)}`);
  }
  if (rule.notBefore !== undefined && value < rule.notBefore) {
    problems.push(`${label}: ${value} goes back before ${rule.notBefore}`);
  }
  return problems;
}

/** An item answer the model expects: known fields, and rules for what the server chooses. */
interface ItemExpectation {
  /** The id, or a new one (a UUID no known item has). */
  id: string | "new";
  fields: ClientFields;
  version: number;
  createdAt: TimeRule;
  /** Omitted: equal to createdAt. */
  updatedAt?: TimeRule;
  /**
   * A new id is a UUIDv7 of the item's createdAt, or of a time in this window: a retry that takes
   * a crashed create's claim over keeps the id that create chose.
   */
  idMadeIn?: [number, number];
}

// ---------------------------------------------------------------------------------------------
// Idempotency records and creates whose fate a crash left open

/**
 * A create cut by `kill -9`: it may have done nothing, or (keyed) claimed its key, stored its
 * item, completed its record. Answers seen later narrow what it did.
 */
export interface PendingCreate {
  owner: string;
  key: string | undefined;
  fields: ClientFields;
  hash: string;
  /** When it was sent and when the runtime was killed (test clock). */
  window: [number, number];
  /** What it may have done. Unkeyed: none, stored. */
  possible: Set<"none" | "claimed" | "stored" | "completed">;
  /** Its item, once a listing showed it. */
  item?: ModelItem;
  /** How the request looked, for reports. */
  label: string;
}

type KeyRecord =
  | { state: "completed"; hash: string; response: string; id: string; at: number }
  | { state: "uncertain"; pending: PendingCreate };

// ---------------------------------------------------------------------------------------------
// Header and body parsing, as the README states the rules

function headerLines(request: ModelRequest, name: string): string[] {
  return request.headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
}

/** The field value as HTTP delivers it: leading and trailing whitespace is not part of it. */
const fieldValue = (value: string): string => value.replace(/^[ \t]+|[ \t]+$/g, "");

interface EntityTag {
  weak: boolean;
  opaque: string;
}

type Condition = { any: true } | { any: false; tags: EntityTag[] };

/**
 * `"*" / #entity-tag` (RFC 9110 §13.1.1-2); repeated lines form one list; empty elements are
 * ignored. Undefined: absent; "malformed": 400.
 */
function parseCondition(request: ModelRequest, name: string): Condition | undefined | "malformed" {
  const lines = headerLines(request, name);
  if (lines.length === 0) {
    return undefined;
  }
  const elements = lines
    .join(",")
    .split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/)
    .map((element) => element.trim())
    .filter((element) => element !== "");
  if (elements.length === 1 && elements[0] === "*") {
    return { any: true };
  }
  const tags: EntityTag[] = [];
  for (const element of elements) {
    const match = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/.exec(element);
    if (match === null) {
      return "malformed";
    }
    tags.push({ weak: match[1] !== undefined, opaque: match[2] ?? "" });
  }
  return tags.length === 0 ? "malformed" : { any: false, tags };
}

interface Conditions {
  ifMatch: Condition | undefined;
  ifNoneMatch: Condition | undefined;
}

function parseConditions(request: ModelRequest): Conditions | "malformed" {
  const ifMatch = parseCondition(request, "if-match");
  const ifNoneMatch = parseCondition(request, "if-none-match");
  if (ifMatch === "malformed" || ifNoneMatch === "malformed") {
    return "malformed";
  }
  // Each lists at most 100 tags (on a write either becomes a DynamoDB `IN`).
  const tooLong = (condition: Condition | undefined) =>
    condition !== undefined && !condition.any && condition.tags.length > MODEL_LIMITS.maxConditionTags;
  return tooLong(ifMatch) || tooLong(ifNoneMatch) ? "malformed" : { ifMatch, ifNoneMatch };
}

/**
 * RFC 9110 §13.2.2 for a resource with this ETag (undefined: the collection, which exists and
 * has none). "ok", or what the failure answers: 412, or 304 for a GET/HEAD's If-None-Match.
 */
function evaluate(conditions: Conditions, etag: string | undefined, safe: boolean): "ok" | "412" | "304" {
  const { ifMatch, ifNoneMatch } = conditions;
  if (ifMatch !== undefined && !ifMatch.any) {
    // Strong comparison: a weak tag never matches.
    if (!ifMatch.tags.some((tag) => !tag.weak && `"${tag.opaque}"` === etag)) {
      return "412";
    }
  }
  if (ifNoneMatch !== undefined) {
    // Weak comparison: W/ aside, the opaque text must be equal.
    const matches = ifNoneMatch.any || ifNoneMatch.tags.some((tag) => `"${tag.opaque}"` === etag);
    if (matches) {
      return safe ? "304" : "412";
    }
  }
  return "ok";
}

type BodyCheck = { ok: true; value: JsonObject } | { ok: false; code: ModelErrorCode };

/** Code points, as the limits count characters. */
const characters = (value: string): number => Array.from(value).length;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function depthOf(value: Json): number {
  if (Array.isArray(value)) {
    return 1 + Math.max(0, ...value.map(depthOf));
  }
  if (isObject(value)) {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 0;
}

function storableNumber(value: number): boolean {
  return Number.isInteger(value)
    ? Math.abs(value) <= MODEL_LIMITS.maxSafeInteger
    : Number.isFinite(value) && Math.abs(value) >= MODEL_LIMITS.minNumberMagnitude;
}

/** A value an attribute may hold: numbers storable, nested keys 1..255 and not forbidden. */
function validValue(value: Json): boolean {
  if (typeof value === "number") {
    return storableNumber(value);
  }
  if (Array.isArray(value)) {
    return value.every(validValue);
  }
  if (isObject(value)) {
    return Object.entries(value).every(
      ([key, member]) =>
        key.length >= 1 &&
        key.length <= MODEL_LIMITS.maxNestedKeyLength &&
        !FORBIDDEN_KEYS.includes(key) &&
        validValue(member),
    );
  }
  return true;
}

function validAttribute(name: string, value: Json): boolean {
  return ATTRIBUTE_NAME.test(name) && depthOf(value) <= MODEL_LIMITS.maxDepth && validValue(value);
}

/** A number literal that is not zero but reads as 0 (`1e-400`): refused, as JSON would lose it. */
function hasVanishingNumber(text: string): boolean {
  const literals = text.replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g) ?? [];
  return literals.some((literal) => Number(literal) === 0 && /[1-9]/.test(literal.split(/[eE]/)[0] ?? ""));
}

const MEDIA_TYPES = { json: ["application/json"], patch: ["application/merge-patch+json", "application/json"] };

/** The media type and charset rule: one of the operation's types, any case, charset UTF-8 only. */
function acceptedContentType(contentType: string | undefined, accepted: readonly string[]): boolean {
  if (contentType === undefined) {
    return false;
  }
  const [type = "", ...parameters] = contentType.split(";").map((part) => part.trim().toLowerCase());
  return (
    accepted.includes(type) &&
    parameters.every((parameter) => {
      const [name = "", value = ""] = parameter.split("=").map((part) => part.trim());
      return name !== "charset" || /^"?utf-8"?$/.test(value);
    })
  );
}

/** The function's reading of a write's body: media type, size, UTF-8, JSON, forbidden keys. */
function readBody(request: ModelRequest, accepted: readonly string[]): BodyCheck {
  if (!acceptedContentType(lastHeader(request, "content-type"), accepted)) {
    return { ok: false, code: "unsupported_media_type" };
  }
  const bytes = request.body ?? Buffer.alloc(0);
  if (bytes.length > MODEL_LIMITS.maxBodyBytes) {
    return { ok: false, code: "payload_too_large" };
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return { ok: false, code: "malformed_json" };
  }
  if (text.trim() === "") {
    return { ok: false, code: "malformed_json" };
  }
  let forbidden = false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key: string, value: unknown) => {
      forbidden ||= FORBIDDEN_KEYS.includes(key);
      return value;
    });
  } catch {
    return { ok: false, code: "malformed_json" };
  }
  if (forbidden || hasVanishingNumber(text) || !isObject(parsed)) {
    return { ok: false, code: "validation_failed" };
  }
  if (Object.keys(parsed).some((key) => READ_ONLY_FIELDS.includes(key))) {
    return { ok: false, code: "read_only_field" };
  }
  return { ok: true, value: parsed };
}

function lastHeader(request: ModelRequest, name: string): string | undefined {
  const lines = headerLines(request, name);
  return lines.length === 0 ? undefined : fieldValue(lines[lines.length - 1] ?? "");
}

const validName = (value: unknown): value is string =>
  typeof value === "string" && characters(value) >= 1 && characters(value) <= MODEL_LIMITS.nameMaxCharacters;
const validDescription = (value: unknown): value is string =>
  typeof value === "string" && characters(value) <= MODEL_LIMITS.descriptionMaxCharacters;

/** A create's or replace's client fields, or why not. */
function itemInput(body: JsonObject): ClientFields | undefined {
  if (!validName(body.name)) {
    return undefined;
  }
  const description = Object.hasOwn(body, "description") ? body.description : "";
  if (!validDescription(description)) {
    return undefined;
  }
  const attrs = new Map<string, Json>();
  for (const [key, value] of Object.entries(body)) {
    if (key === "name" || key === "description") {
      continue;
    }
    if (!validAttribute(key, value)) {
      return undefined;
    }
    attrs.set(key, value);
  }
  return attrs.size > MODEL_LIMITS.maxAttributes ? undefined : { name: body.name, description, attrs };
}

interface PatchInput {
  name?: string;
  description?: string;
  attrs: [string, Json][];
}

function patchInput(body: JsonObject): PatchInput | undefined {
  const patch: PatchInput = { attrs: [] };
  for (const [key, value] of Object.entries(body)) {
    if (key === "name") {
      if (!validName(value)) {
        return undefined;
      }
      patch.name = value;
    } else if (key === "description") {
      if (value !== null && !validDescription(value)) {
        return undefined;
      }
      patch.description = value ?? "";
    } else if (validAttribute(key, value)) {
      patch.attrs.push([key, value]);
    } else {
      return undefined;
    }
  }
  return patch.attrs.filter(([, value]) => value !== null).length > MODEL_LIMITS.maxAttributes ? undefined : patch;
}

/**
 * RFC 7396 MergePatch(target, patch), own keys only: the RFC's pseudocode again (as the handlers
 * have it), so that the model's patched item is not the code's own answer.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) {
    return patch;
  }
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value);
    }
  }
  return result;
}

/**
 * API Gateway's request validator: the operation's model (the document's NewItem and ItemPatch)
 * for a body sent as one of its media types (no Content-Type counts as application/json). True
 * when the gateway lets the request through.
 */
function gatewayAcceptsBody(request: ModelRequest, model: "NewItem" | "ItemPatch"): boolean {
  const contentType = lastHeader(request, "content-type");
  const mediaType =
    contentType === undefined ? "application/json" : (contentType.split(";")[0] ?? "").trim().toLowerCase();
  const validated = model === "NewItem" ? MEDIA_TYPES.json : MEDIA_TYPES.patch;
  if (!validated.includes(mediaType === "" ? "application/json" : mediaType)) {
    return true;
  }
  let body: unknown;
  try {
    body = JSON.parse((request.body ?? Buffer.alloc(0)).toString("utf8"));
  } catch {
    return false;
  }
  return gatewayModelAccepts(body, model);
}

/** True when the operation's model (the document's NewItem or ItemPatch) accepts the parsed body. */
export function gatewayModelAccepts(body: unknown, model: "NewItem" | "ItemPatch"): boolean {
  if (!isObject(body)) {
    return false;
  }
  const name = Object.hasOwn(body, "name") ? body.name : undefined;
  const description = Object.hasOwn(body, "description") ? body.description : undefined;
  if (model === "NewItem") {
    return (
      validName(name) &&
      (description === undefined || validDescription(description)) &&
      Object.keys(body).length <= MODEL_LIMITS.maxAttributes + 2
    );
  }
  // README: models support no `nullable`, so a PATCH's model checks the nullable description's
  // length but not its type (a number gets through to the function, which refuses it).
  return (name === undefined || validName(name)) && (typeof description !== "string" || validDescription(description));
}

// ---------------------------------------------------------------------------------------------
// The model

/**
 * Where a page stands: the first, one a walk reached through nextCursor (nothing ran in between,
 * so it is not empty), or one from a cursor issued earlier (the items after it may be gone).
 */
type PagePosition = "first" | "walk" | "any";

/** Observed JSON objects as records (answers are parsed JSON). */
type Answered = Record<string, Json>;

/** A cursor the API issued: to whom, and the id of the last item of its page. */
interface IssuedCursor {
  owner: string;
  afterId: string;
}

/**
 * Lambda returns at most 6 MB; a page keeps its items' size in the proxy result (the page's
 * JSON, as a string again) under 6 MiB less 64 KiB. Below this the model holds every page to its
 * `limit` (a margin for the rest of the result and for its own estimate).
 */
const UNCUT_PAGE_BYTES = 6 * 1024 * 1024 - 64 * 1024 - 512 * 1024;

/** The milliseconds a UUIDv7 starts with: the time it was made. */
function timeOfId(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

const newestFirst = (a: ModelItem, b: ModelItem): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class ReferenceModel {
  /** Every item, whoever owns it. */
  readonly items = new Map<string, ModelItem>();
  /** Idempotency-Key records, per owner (`owner\nkey`). */
  readonly keys = new Map<string, KeyRecord>();
  /** Unkeyed creates a crash cut, not yet seen or ruled out. */
  readonly pendings: PendingCreate[] = [];
  /** Cursors the API issued in this run (a cursor is opaque: only those are known to be valid). */
  readonly issuedCursors = new Map<string, IssuedCursor>();
  /** The run's tokens: whose, and what kind. */
  private readonly tokens = new Map<string, { user: string; kind: TokenKind }>();
  /** Every id the API ever answered with (ids are never reused). */
  private readonly seenIds = new Set<string>();

  constructor(
    readonly profile: StackProfile,
    readonly apiKey: string | undefined,
    /** Base URL ending with `/`; changes when a restarted runtime listens on another port. */
    public baseUrl: string,
  ) {}

  /** Tells the model whose a token of the run is, and its kind (the tokens are the run's inputs). */
  addToken(token: string, user: string, kind: TokenKind): void {
    this.tokens.set(token, { user, kind });
  }

  tokenEntries(): [string, { user: string; kind: TokenKind }][] {
    return [...this.tokens.entries()];
  }

  tokenOf(user: string, kind: TokenKind): string | undefined {
    return [...this.tokens.entries()].find(([, facts]) => facts.user === user && facts.kind === kind)?.[0];
  }

  /** The owner a crash burst's creates run as: the first user of the run. */
  get firstOwner(): string {
    return [...this.tokens.values()][0]?.user ?? ANONYMOUS;
  }

  /** An owner's items, newest first (ids are UUIDv7: they sort by creation). */
  itemsOf(owner: string): ModelItem[] {
    return [...this.items.values()].filter((item) => item.owner === owner).sort(newestFirst);
  }

  /** Creates a crash cut whose item may exist but has not been seen. */
  unseenPendings(owner?: string): PendingCreate[] {
    const keyed = [...this.keys.values()].flatMap((record) => (record.state === "uncertain" ? [record.pending] : []));
    return [...this.pendings, ...keyed].filter(
      (pending) =>
        (owner === undefined || pending.owner === owner) &&
        pending.item === undefined &&
        (pending.possible.has("stored") || pending.possible.has("completed")),
    );
  }

  /**
   * Every answer the contract allows for `request` now. `walk`: the request is a page of a walk
   * (nothing else runs between its pages), `continued` when it follows a page's nextCursor.
   */
  predict(request: ModelRequest, walk?: { continued: boolean }): Outcome[] {
    const decoded = request.body === undefined ? undefined : Buffer.from(request.body.toString("utf8"));
    if (decoded !== undefined && !decoded.equals(request.body ?? decoded)) {
      // A body that is not UTF-8: 400 malformed_json where the function gets its bytes; API
      // Gateway passes a non-binary body on as text, so the function may instead get it with
      // each bad byte read as U+FFFD (the README leaves this open).
      return [...this.predictOnce(request, walk), ...this.predictOnce({ ...request, body: decoded }, walk)];
    }
    return this.predictOnce(request, walk);
  }

  /**
   * API Gateway first: the route (404), the method (405, or the preflight), the ID token (401),
   * the API key (403), the body's model (400); then the function: the token's app client (401),
   * malformed preconditions (400), and the operation.
   */
  private predictOnce(request: ModelRequest, walk?: { continued: boolean }): Outcome[] {
    const route = this.route(request);
    if (route.kind === "none") {
      return [this.error("gateway", "not_found", request)];
    }
    if (!allowedMethods(route.resource).includes(request.method)) {
      return [this.methodNotAllowed(route.resource, request)];
    }
    if (request.method === "OPTIONS") {
      return [this.preflight(request)];
    }
    const token = this.tokens.get(lastHeader(request, "authorization") ?? "");
    if (this.profile.signIn && (token === undefined || token.kind === "expired" || token.kind === "access")) {
      return [this.unauthorized("gateway", request)];
    }
    if (this.profile.apiKeyRequired && lastHeader(request, "x-api-key") !== this.apiKey) {
      return [this.error("gateway", "forbidden", request)];
    }
    const bodyModel = { POST: "NewItem", PUT: "NewItem", PATCH: "ItemPatch" } as const;
    const model = (bodyModel as Record<string, "NewItem" | "ItemPatch" | undefined>)[request.method];
    if (model !== undefined && !gatewayAcceptsBody(request, model)) {
      return [this.error("gateway", "validation_failed", request)];
    }
    if (this.profile.signIn && token?.kind === "other-client") {
      return [this.unauthorized("function", request)];
    }
    const owner = this.profile.signIn ? (token?.user ?? ANONYMOUS) : ANONYMOUS;
    const conditions = parseConditions(request);
    if (conditions === "malformed") {
      return [this.error("function", "validation_failed", request)];
    }
    if (route.resource === "collection") {
      return request.method === "POST"
        ? this.create(owner, request, conditions)
        : this.list(owner, request, conditions, walk);
    }
    switch (request.method) {
      case "GET":
      case "HEAD":
        return this.read(owner, request, route.id, conditions);
      case "PUT":
        return this.replace(owner, request, route.id, conditions);
      case "PATCH":
        return this.patch(owner, request, route.id, conditions);
      default:
        return this.remove(owner, request, route.id, conditions);
    }
  }

  private route(
    request: ModelRequest,
  ): { kind: "none" } | { kind: "route"; resource: "collection" } | { kind: "route"; resource: "item"; id: string } {
    if (request.path === "/items") {
      return { kind: "route", resource: "collection" };
    }
    const match = /^\/items\/([^/]+)$/.exec(request.path);
    return match?.[1] === undefined ? { kind: "none" } : { kind: "route", resource: "item", id: match[1] };
  }

  /** 409 request_in_progress: a keyed create while another with the same key and body is in flight. */
  inProgress(request: ModelRequest): Outcome {
    return this.error("function", "request_in_progress", request);
  }

  // ---- answers every route shares

  /** Checks every answer gets: request ids by source, the fixed headers, CORS, an error envelope. */
  private common(
    observed: Observed,
    request: ModelRequest,
    source: Source,
    code: ModelErrorCode | undefined,
  ): string[] {
    const problems: string[] = [];
    const gatewayId = observed.headers.get("x-amz-apigw-id");
    if (gatewayId === null || gatewayId === "") {
      problems.push("x-amz-apigw-id is missing");
    }
    const requestId = observed.headers.get("x-request-id");
    if (source === "gateway" ? requestId !== null : requestId !== gatewayId) {
      problems.push(
        source === "gateway"
          ? `x-request-id ${requestId} on an answer of API Gateway itself`
          : `x-request-id ${requestId} is not x-amz-apigw-id ${gatewayId}`,
      );
    }
    for (const [name, value] of Object.entries(EVERY_RESPONSE_HEADERS)) {
      if (observed.headers.get(name) !== value) {
        problems.push(`${name}: ${observed.headers.get(name)}, expected ${value}`);
      }
    }
    problems.push(...this.cors(observed, request));
    if (code !== undefined) {
      if (observed.status !== MODEL_ERROR_STATUS[code]) {
        problems.push(`status ${observed.status}, expected ${MODEL_ERROR_STATUS[code]} ${code}`);
      } else if (request.method === "HEAD") {
        problems.push(...(observed.text === "" ? [] : ["a HEAD answer has a body"]));
      } else {
        problems.push(...envelopeProblems(observed, code, gatewayId));
      }
    }
    return problems;
  }

  /** CORS headers where the stack allows the caller's origin (any origin: always). */
  private cors(observed: Observed, request: ModelRequest): string[] {
    const origin = lastHeader(request, "origin");
    const allowed = this.profile.corsAllowedOrigins;
    const expected = allowed.includes("*")
      ? "*"
      : origin !== undefined && allowed.includes(origin)
        ? origin
        : undefined;
    if (expected === undefined) {
      return [];
    }
    const actual = observed.headers.get("access-control-allow-origin");
    return actual === expected ? [] : [`Access-Control-Allow-Origin: ${actual}, expected ${expected}`];
  }

  private error(
    source: Source,
    code: ModelErrorCode,
    request: ModelRequest,
    extra?: (observed: Observed) => string[],
    commit: () => void = () => undefined,
  ): Outcome {
    return {
      describe: `${MODEL_ERROR_STATUS[code]} ${code} (from ${source === "gateway" ? "API Gateway" : "the function"})`,
      verify: (observed) => [
        ...this.common(observed, request, source, code),
        ...(code === "request_in_progress" ? retryAfter(observed) : []),
        ...(extra?.(observed) ?? []),
      ],
      commit,
    };
  }

  private unauthorized(source: Source, request: ModelRequest): Outcome {
    return this.error(source, "unauthorized", request, (observed) => {
      const challenge = observed.headers.get("www-authenticate");
      return challenge === WWW_AUTHENTICATE ? [] : [`WWW-Authenticate ${challenge}, expected ${WWW_AUTHENTICATE}`];
    });
  }

  private methodNotAllowed(resource: "collection" | "item", request: ModelRequest): Outcome {
    const allow = allowedMethods(resource);
    return this.error("mock", "method_not_allowed", request, (observed) => {
      const actual = (observed.headers.get("allow") ?? "")
        .split(",")
        .map((method) => method.trim())
        .filter((method) => method !== "");
      return sameSet(actual, allow) ? [] : [`Allow: ${actual.join(", ")}, expected the set ${allow.join(", ")}`];
    });
  }

  private preflight(request: ModelRequest): Outcome {
    return {
      describe: "204 CORS preflight",
      verify: (observed) => [
        ...this.common(observed, request, "mock", undefined),
        ...(observed.status === 204 ? [] : [`status ${observed.status}, expected 204`]),
      ],
      commit: () => undefined,
    };
  }

  private notModified(request: ModelRequest, etag: string | undefined): Outcome {
    return {
      describe: `304 ${etag === undefined ? "without ETag" : `ETag ${etag}`}`,
      verify: (observed) => [
        ...this.common(observed, request, "function", undefined),
        ...(observed.status === 304 ? [] : [`status ${observed.status}, expected 304`]),
        ...(observed.headers.get("etag") === (etag ?? null)
          ? []
          : [`ETag ${observed.headers.get("etag")}, expected ${etag ?? "none"}`]),
        ...(observed.text === "" ? [] : ["a 304 has a body"]),
      ],
      commit: () => undefined,
    };
  }

  /** An answer holding an item: status, ETag, Content-Type, Location (201), and the item itself. */
  private itemAnswer(
    owner: string,
    request: ModelRequest,
    status: number,
    expectation: ItemExpectation,
    commit: (item: ModelItem, observed: Observed) => void,
  ): Outcome {
    return {
      describe: `${status} ${expectation.id === "new" ? "a new item" : `item ${expectation.id}`} version ${expectation.version}`,
      verify: (observed) => {
        const problems = this.common(observed, request, "function", undefined);
        if (observed.status !== status) {
          return [`status ${observed.status}, expected ${status}`, ...problems.slice(0, 3)];
        }
        problems.push(...expectJsonContentType(observed));
        const etag = `"${expectation.version}"`;
        if (observed.headers.get("etag") !== etag) {
          problems.push(`ETag ${observed.headers.get("etag")}, expected ${etag}`);
        }
        if (request.method === "HEAD") {
          return [...problems, ...(observed.text === "" ? [] : ["a HEAD answer has a body"])];
        }
        problems.push(...this.itemProblems(observed.json, expectation, observed));
        if (status === 201) {
          const location = `${this.baseUrl}items/${String(observed.json?.id)}`;
          if (observed.headers.get("location") !== location) {
            problems.push(`Location ${observed.headers.get("location")}, expected ${location}`);
          }
        }
        return problems;
      },
      commit: (observed) => {
        if (request.method !== "HEAD") {
          this.seenIds.add(String(observed.json.id));
          commit(itemFromJson(owner, observed.json as Answered), observed);
        }
      },
    };
  }

  private itemProblems(json: unknown, expectation: ItemExpectation, observed: Observed): string[] {
    if (!isObject(json)) {
      return [`the body is not an item: ${String(observed.text).slice(0, 200)}`];
    }
    const problems: string[] = [];
    if (expectation.id === "new") {
      problems.push(...this.newIdProblems(json, expectation.idMadeIn));
    } else if (json.id !== expectation.id) {
      problems.push(`id ${JSON.stringify(json.id)}, expected ${expectation.id}`);
    }
    problems.push(...checkTime("createdAt", json.createdAt, expectation.createdAt, observed));
    const updatedRule = expectation.updatedAt ?? { exactly: String(json.createdAt) };
    problems.push(...checkTime("updatedAt", json.updatedAt, updatedRule, observed));
    const expected: ModelItem = {
      owner: "",
      id: String(json.id),
      ...expectation.fields,
      version: expectation.version,
      createdAt: String(json.createdAt),
      updatedAt: String(json.updatedAt),
    };
    const actual = canonicalJson(json);
    const wanted = canonicalItem(expected);
    if (actual !== wanted) {
      problems.push(`item ${truncate(actual)}, expected ${truncate(wanted)}`);
    }
    return problems;
  }

  /** A new item's id: a UUIDv7 no answer had before, whose time is its createdAt (or in `madeIn`). */
  private newIdProblems(json: JsonObject, madeIn: [number, number] | undefined): string[] {
    if (typeof json.id !== "string" || !UUID.test(json.id)) {
      return [`id ${JSON.stringify(json.id)} is not a UUIDv7`];
    }
    if (this.seenIds.has(json.id)) {
      return [`id ${json.id} was answered before: a new item must have a new id`];
    }
    const time = timeOfId(json.id);
    if (madeIn !== undefined && time >= madeIn[0] && time <= madeIn[1]) {
      return [];
    }
    return time === Date.parse(String(json.createdAt))
      ? []
      : [`id ${json.id} does not start with its createdAt ${String(json.createdAt)}`];
  }

  // ---- createItem

  private create(owner: string, request: ModelRequest, conditions: Conditions): Outcome[] {
    const body = readBody(request, MEDIA_TYPES.json);
    if (!body.ok) {
      return [this.error("function", body.code, request)];
    }
    const fields = itemInput(body.value);
    if (fields === undefined) {
      return [this.error("function", "validation_failed", request)];
    }
    const keyLines = headerLines(request, "idempotency-key").map(fieldValue);
    const key = keyLines[0];
    if (keyLines.length > 1 || (key !== undefined && !/^[\x20-\x7e]{1,128}$/.test(key)) || key?.includes(",")) {
      return [this.error("function", "validation_failed", request)];
    }
    // The collection exists and has no entity tag; a POST's body is validated before its preconditions.
    if (evaluate(conditions, undefined, false) !== "ok") {
      return [this.error("function", "precondition_failed", request)];
    }
    if (key === undefined) {
      return [this.fresh(owner, request, fields, () => undefined)];
    }
    const hash = requestHash(fields);
    const keyId = `${owner}\n${key}`;
    const record = this.liveRecord(keyId);
    if (record === undefined) {
      return [this.fresh(owner, request, fields, (item) => this.completeKey(keyId, hash, item))];
    }
    if (record.state === "completed") {
      if (record.hash !== hash) {
        return [this.error("function", "idempotency_key_reused", request)];
      }
      return [this.replay(owner, request, record)];
    }
    return this.resolveUncertain(owner, request, keyId, record.pending, fields, hash);
  }

  /** A key's record, unless its 24 h window has passed (then the key is free again). */
  private liveRecord(keyId: string): KeyRecord | undefined {
    const record = this.keys.get(keyId);
    if (record?.state === "completed" && record.at + MODEL_LIMITS.idempotencyWindowMs < Date.now()) {
      this.keys.delete(keyId);
      return undefined;
    }
    return record;
  }

  private completeKey(keyId: string, hash: string, item: ModelItem): void {
    this.keys.set(keyId, { state: "completed", hash, response: canonicalItem(item), id: item.id, at: Date.now() });
  }

  /** 201 with a new item (version 1, made during the request). */
  private fresh(owner: string, request: ModelRequest, fields: ClientFields, then: (item: ModelItem) => void): Outcome {
    return this.itemAnswer(
      owner,
      request,
      201,
      { id: "new", fields, version: 1, createdAt: { between: "request" } },
      (item) => {
        this.items.set(item.id, item);
        then(item);
      },
    );
  }

  /** The first 201 again: same id, body, Location and ETag, whatever happened to the item since. */
  private replay(owner: string, request: ModelRequest, record: Extract<KeyRecord, { state: "completed" }>): Outcome {
    const first = JSON.parse(record.response) as Answered;
    return this.itemAnswer(
      owner,
      request,
      201,
      {
        id: record.id,
        fields: clientFieldsOf(first),
        version: Number(first.version),
        createdAt: { exactly: String(first.createdAt) },
        updatedAt: { exactly: String(first.updatedAt) },
      },
      () => undefined,
    );
  }

  /**
   * A keyed create whose key a crash left uncertain (the runs wait for the crashed claims' locks
   * to lapse first). Same body: 201, a fresh item (nothing done, or only the claim) or the
   * crashed request's item (stored, or completed). Another body: 422 if the crashed request
   * claimed the key; 201 only if it did nothing.
   */
  private resolveUncertain(
    owner: string,
    request: ModelRequest,
    keyId: string,
    pending: PendingCreate,
    fields: ClientFields,
    hash: string,
  ): Outcome[] {
    const settle = (possible: PendingCreate["possible"], item: ModelItem) => {
      pending.possible = possible;
      this.completeKey(keyId, hash, item);
    };
    const only = (...states: string[]) => new Set([...pending.possible].filter((state) => states.includes(state)));
    const outcomes: Outcome[] = [];
    if (hash !== pending.hash) {
      if (pending.possible.has("none")) {
        outcomes.push(this.fresh(owner, request, fields, (item) => settle(new Set(["none"]), item)));
      }
      if ([...pending.possible].some((state) => state !== "none")) {
        outcomes.push(
          this.error("function", "idempotency_key_reused", request, undefined, () => pending.possible.delete("none")),
        );
      }
      return outcomes;
    }
    if (pending.item !== undefined) {
      // The crashed request's item, seen since: its first answer (completed), or, where the retry
      // takes an abandoned claim over, the item as it stands.
      const seen = pending.item;
      const current = this.items.get(seen.id);
      const shownAs =
        current === undefined || canonicalItem(current) === canonicalItem(seen) ? [seen] : [seen, current];
      return shownAs.map((shown) =>
        this.itemAnswer(owner, request, 201, this.expectationOf(shown), () => settle(new Set(pending.possible), seen)),
      );
    }
    if (pending.possible.has("none") || pending.possible.has("claimed")) {
      // Made now: a new item, or (claimed) under the id the crashed create chose.
      outcomes.push(
        this.itemAnswer(
          owner,
          request,
          201,
          { id: "new", fields, version: 1, createdAt: { between: "request" }, idMadeIn: pending.window },
          (item) => {
            this.items.set(item.id, item);
            settle(only("none", "claimed"), item);
          },
        ),
      );
    }
    if (pending.possible.has("stored") || pending.possible.has("completed")) {
      // Not seen yet: version 1, made before the crash.
      outcomes.push(
        this.itemAnswer(
          owner,
          request,
          201,
          { id: "new", fields, version: 1, createdAt: { between: pending.window } },
          (item) => {
            this.items.set(item.id, item);
            pending.item = item;
            settle(only("stored", "completed"), item);
          },
        ),
      );
    }
    return outcomes;
  }

  // ---- listItems

  private list(
    owner: string,
    request: ModelRequest,
    conditions: Conditions,
    walk: { continued: boolean } | undefined,
  ): Outcome[] {
    const limits = request.query.filter(([name]) => name === "limit").map(([, value]) => value);
    const cursors = request.query.filter(([name]) => name === "cursor").map(([, value]) => value);
    const rawLimit = limits[limits.length - 1];
    const limit =
      rawLimit === undefined ? MODEL_LIMITS.defaultPageSize : /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    const cursor = cursors.length === 0 ? undefined : this.issuedCursors.get(cursors[cursors.length - 1] ?? "");
    const answers: Outcome[] = [];
    const verdict = evaluate(conditions, undefined, true);
    const conditionOutcome =
      verdict === "412"
        ? this.error("function", "precondition_failed", request)
        : verdict === "304"
          ? this.notModified(request, undefined)
          : undefined;
    // Where a bad parameter and a failed precondition meet, the contract does not order them.
    if (!(limit >= 1 && limit <= MODEL_LIMITS.maxPageSize)) {
      answers.push(this.error("function", "validation_failed", request));
    } else if (cursors.length > 0 && cursor?.owner !== owner) {
      // Cursors are signed for their owner: another user's is not one the API issued to this caller.
      answers.push(this.error("function", "invalid_cursor", request));
    }
    if (conditionOutcome !== undefined) {
      return [...answers, conditionOutcome];
    }
    if (answers.length > 0) {
      return answers;
    }
    const position: PagePosition = cursor === undefined ? "first" : walk?.continued === true ? "walk" : "any";
    return [this.page(owner, request, limit, cursor?.afterId, position)];
  }

  /**
   * One page of the caller's items, newest first, after the cursor's item: exactly the next
   * `limit` the model holds (with the items of creates a crash cut where they fall, learned from
   * the page), unless their size could make Lambda's 6 MB cut the page; nextCursor exactly when
   * more follow.
   */
  private page(
    owner: string,
    request: ModelRequest,
    limit: number,
    afterId: string | undefined,
    position: PagePosition,
  ): Outcome {
    return {
      describe: `200 a page of the next ${limit} of the caller's items, newest first`,
      verify: (observed) => {
        const problems = this.common(observed, request, "function", undefined);
        if (observed.status !== 200) {
          return [`status ${observed.status}, expected 200`, ...problems.slice(0, 3)];
        }
        problems.push(...expectJsonContentType(observed));
        if (request.method === "HEAD") {
          return [...problems, ...(observed.text === "" ? [] : ["a HEAD answer has a body"])];
        }
        return [...problems, ...this.pageProblems(owner, observed.json, limit, afterId, position)];
      },
      commit: (observed) => {
        if (request.method === "HEAD") {
          return;
        }
        const items = observed.json.items as Answered[];
        const cursor: unknown = observed.json.nextCursor;
        const last = items[items.length - 1];
        if (typeof cursor === "string" && last !== undefined) {
          this.issuedCursors.set(cursor, { owner, afterId: String(last.id) });
        }
        for (const item of items) {
          if (!this.items.has(String(item.id))) {
            this.adopt(owner, item);
          }
        }
      },
    };
  }

  private pageProblems(
    owner: string,
    json: unknown,
    limit: number,
    afterId: string | undefined,
    position: PagePosition,
  ): string[] {
    if (
      !isObject(json) ||
      !Array.isArray(json.items) ||
      Object.keys(json).some((key) => key !== "items" && key !== "nextCursor")
    ) {
      return [`the body is not a page: ${truncate(canonicalJson(json))}`];
    }
    const problems: string[] = [];
    const items = json.items;
    const nextCursor = json.nextCursor;
    if (
      nextCursor !== undefined &&
      (typeof nextCursor !== "string" || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(nextCursor))
    ) {
      problems.push(`nextCursor ${JSON.stringify(nextCursor)} is not base64url`);
    }
    if (items.length > limit) {
      problems.push(`${items.length} items on a page of limit ${limit}`);
    }
    if (items.length === 0 && (position === "walk" || nextCursor !== undefined)) {
      problems.push(
        nextCursor === undefined ? "an empty last page after a page with a cursor" : "an empty page with a nextCursor",
      );
    }
    const ids = items.map((item) => (isObject(item) ? String(item.id) : ""));
    if (ids.some((id, index) => index > 0 && !(id < (ids[index - 1] ?? "")))) {
      problems.push(`the page is not newest first: ${ids.join(", ")}`);
    }
    for (const item of items) {
      problems.push(...this.listedItemProblems(owner, item, afterId));
    }
    // The known items after the cursor, newest first: the page holds a run of them from the start.
    const expected = this.itemsOf(owner).filter((item) => afterId === undefined || item.id < afterId);
    const listedKnown = ids.filter((id) => this.items.get(id)?.owner === owner);
    const prefix = expected.slice(0, listedKnown.length).map((item) => item.id);
    if (listedKnown.join() !== prefix.join()) {
      problems.push(`the page lists ${listedKnown.join(", ")} where the next items are ${prefix.join(", ")}`);
    }
    const unseen = this.unseenPendings(owner).length;
    const cut = this.mayBeCutBySize(expected.slice(0, limit));
    if (nextCursor === undefined && listedKnown.length < expected.length) {
      problems.push(`no nextCursor, but ${expected.length - listedKnown.length} more of the caller's items follow`);
    }
    if (nextCursor !== undefined && listedKnown.length === expected.length && unseen === 0) {
      problems.push("a nextCursor on the last page");
    }
    if (nextCursor !== undefined && items.length < limit && !cut) {
      problems.push(`${items.length} items on a page with a nextCursor, where ${limit} fit in Lambda's 6 MB`);
    }
    return problems;
  }

  /** Whether these items could pass a page's size limit: each counted as its JSON escaped twice. */
  private mayBeCutBySize(items: ModelItem[]): boolean {
    const bytes = items.reduce((sum, item) => sum + Buffer.byteLength(JSON.stringify(canonicalItem(item))) + 64, 0);
    const pendingBytes = this.unseenPendings().reduce(
      (sum, pending) => sum + 2 * Buffer.byteLength(pending.hash) + 256,
      0,
    );
    return bytes + pendingBytes > UNCUT_PAGE_BYTES;
  }

  /** An item on a page: one of the caller's known items exactly, or the item of a create a crash cut. */
  private listedItemProblems(owner: string, item: unknown, afterId: string | undefined): string[] {
    if (!isObject(item)) {
      return [`a page member is not an item: ${truncate(canonicalJson(item))}`];
    }
    const id = String(item.id);
    if (afterId !== undefined && !(id < afterId)) {
      return [`item ${id} is not after the cursor's item ${afterId}`];
    }
    const known = this.items.get(id);
    if (known !== undefined) {
      if (known.owner !== owner) {
        return [`item ${id} of another user listed`];
      }
      return canonicalJson(item) === canonicalItem(known)
        ? []
        : [`listed ${truncate(canonicalJson(item))}, expected ${truncate(canonicalItem(known))}`];
    }
    return this.pendingFor(owner, item) === undefined
      ? [
          `listed item ${id} is none the model knows of, nor one a crashed create may have stored: ${truncate(canonicalJson(item))}`,
        ]
      : [];
  }

  /** The crashed create whose item this is: same owner and client fields, version 1, made in its window. */
  private pendingFor(owner: string, item: JsonObject): PendingCreate | undefined {
    const hash = requestHash(clientFieldsOf(item));
    return this.unseenPendings(owner).find(
      (pending) =>
        pending.hash === hash &&
        item.version === 1 &&
        item.updatedAt === item.createdAt &&
        typeof item.createdAt === "string" &&
        item.createdAt >= isoOf(pending.window[0]) &&
        item.createdAt <= isoOf(pending.window[1]) &&
        typeof item.id === "string" &&
        UUID.test(item.id) &&
        timeOfId(item.id) === Date.parse(item.createdAt) &&
        !this.seenIds.has(item.id),
    );
  }

  private adopt(owner: string, json: Answered): void {
    const pending = this.pendingFor(owner, json);
    if (pending === undefined) {
      return;
    }
    const item = itemFromJson(owner, json);
    pending.item = item;
    pending.possible = new Set([...pending.possible].filter((state) => state === "stored" || state === "completed"));
    this.items.set(item.id, item);
    this.seenIds.add(item.id);
  }

  /**
   * The end of a walk of every page: the caller's items, each listed once, newest first; a crashed
   * create of the caller's whose item did not show stored nothing.
   */
  endWalk(owner: string, listedIds: string[]): string[] {
    const expected = this.itemsOf(owner).map((item) => item.id);
    if (listedIds.join() !== expected.join()) {
      return [
        `the walk listed ${listedIds.length} items (${listedIds.join(", ")}), expected ${expected.length} (${expected.join(", ")})`,
      ];
    }
    for (const pending of this.unseenPendings(owner)) {
      pending.possible = new Set([...pending.possible].filter((state) => state === "none" || state === "claimed"));
    }
    for (let index = this.pendings.length - 1; index >= 0; index--) {
      const pending = this.pendings[index];
      if (pending !== undefined && (pending.item !== undefined || !pending.possible.has("stored"))) {
        this.pendings.splice(index, 1);
      }
    }
    return [];
  }

  // ---- getItem

  /** The caller's item of this id: another user's is 404 on every route, as a missing one. */
  private own(owner: string, id: string): ModelItem | undefined {
    const item = this.items.get(id);
    return item?.owner === owner ? item : undefined;
  }

  private read(owner: string, request: ModelRequest, id: string, conditions: Conditions): Outcome[] {
    const item = this.own(owner, id);
    if (item === undefined) {
      return [this.error("function", "not_found", request)];
    }
    const etag = `"${item.version}"`;
    const verdict = evaluate(conditions, etag, true);
    if (verdict === "412") {
      return [this.error("function", "precondition_failed", request)];
    }
    if (verdict === "304") {
      return [this.notModified(request, etag)];
    }
    return [this.itemAnswer(owner, request, 200, this.expectationOf(item), () => undefined)];
  }

  private expectationOf(item: ModelItem): ItemExpectation {
    return {
      id: item.id,
      fields: { name: item.name, description: item.description, attrs: item.attrs },
      version: item.version,
      createdAt: { exactly: item.createdAt },
      updatedAt: { exactly: item.updatedAt },
    };
  }

  // ---- writes to an item

  /**
   * What a write to an item answers before it changes anything: 404 for a missing item (or
   * another user's) whatever the conditions say, then 412 for a failed condition (both evaluated
   * in the one conditional write, so after the body was read).
   */
  private guard(
    owner: string,
    request: ModelRequest,
    id: string,
    conditions: Conditions,
  ): { item: ModelItem } | { refused: Outcome } {
    const item = this.own(owner, id);
    if (item === undefined) {
      return { refused: this.error("function", "not_found", request) };
    }
    if (evaluate(conditions, `"${item.version}"`, false) !== "ok") {
      return { refused: this.error("function", "precondition_failed", request) };
    }
    return { item };
  }

  /** 200 with the item written: version + 1, createdAt kept, updatedAt now and not earlier. */
  private written(owner: string, request: ModelRequest, item: ModelItem, fields: ClientFields): Outcome {
    return this.itemAnswer(
      owner,
      request,
      200,
      {
        id: item.id,
        fields,
        version: item.version + 1,
        createdAt: { exactly: item.createdAt },
        updatedAt: { between: "request", notBefore: item.updatedAt },
      },
      (written) => this.items.set(written.id, written),
    );
  }

  /**
   * The body of a write to an item, read by `parse`; or the answers to a body the write refuses,
   * with the 404 of an id that cannot be an item's (not a UUID) beside them: the contract does not
   * order those two.
   */
  private writeBody<T>(
    request: ModelRequest,
    id: string,
    mediaTypes: readonly string[],
    parse: (body: JsonObject) => T | undefined,
  ): { input: T } | { refused: Outcome[] } {
    const body = readBody(request, mediaTypes);
    const input = body.ok ? parse(body.value) : undefined;
    if (input !== undefined) {
      return { input };
    }
    const refused = this.error("function", body.ok ? "validation_failed" : body.code, request);
    return { refused: UUID.test(id) ? [refused] : [refused, this.error("function", "not_found", request)] };
  }

  private replace(owner: string, request: ModelRequest, id: string, conditions: Conditions): Outcome[] {
    const body = this.writeBody(request, id, MEDIA_TYPES.json, itemInput);
    if ("refused" in body) {
      return body.refused;
    }
    const guarded = this.guard(owner, request, id, conditions);
    return "refused" in guarded ? [guarded.refused] : [this.written(owner, request, guarded.item, body.input)];
  }

  private patch(owner: string, request: ModelRequest, id: string, conditions: Conditions): Outcome[] {
    const body = this.writeBody(request, id, MEDIA_TYPES.patch, patchInput);
    if ("refused" in body) {
      return body.refused;
    }
    const patch = body.input;
    const item = this.own(owner, id);
    const guarded = this.guard(owner, request, id, conditions);
    const attrs = new Map(item?.attrs ?? []);
    for (const [key, value] of patch.attrs) {
      if (value === null) {
        attrs.delete(key);
      } else {
        attrs.set(key, mergePatch(attrs.get(key), value));
      }
    }
    const tooMany = attrs.size > MODEL_LIMITS.maxAttributes;
    if ("refused" in guarded) {
      // The limit and a failed condition, met together: the contract does not order them.
      return item !== undefined && tooMany
        ? [guarded.refused, this.error("function", "validation_failed", request)]
        : [guarded.refused];
    }
    if (tooMany) {
      return [this.error("function", "validation_failed", request)];
    }
    const current = guarded.item;
    return [
      this.written(owner, request, current, {
        name: patch.name ?? current.name,
        description: patch.description ?? current.description,
        attrs,
      }),
    ];
  }

  private remove(owner: string, request: ModelRequest, id: string, conditions: Conditions): Outcome[] {
    const guarded = this.guard(owner, request, id, conditions);
    if ("refused" in guarded) {
      return [guarded.refused];
    }
    return [
      {
        describe: "204 deleted",
        verify: (observed) => [
          ...this.common(observed, request, "function", undefined),
          ...(observed.status === 204 ? [] : [`status ${observed.status}, expected 204`]),
          ...(observed.text === "" ? [] : ["a 204 has a body"]),
        ],
        commit: () => this.items.delete(id),
      },
    ];
  }

  // ---- crashes

  /** A create of `owner`'s that `kill -9` cut: what it did is open until answers tell. */
  cutCreate(owner: string, request: ModelRequest, window: [number, number], label: string): void {
    const body = readBody(request, MEDIA_TYPES.json);
    const fields = body.ok ? itemInput(body.value) : undefined;
    if (fields === undefined) {
      return;
    }
    const key = headerLines(request, "idempotency-key").map(fieldValue)[0];
    const hash = requestHash(fields);
    if (key === undefined) {
      this.pendings.push({ owner, key, fields, hash, window, possible: new Set(["none", "stored"]), label });
      return;
    }
    const keyId = `${owner}\n${key}`;
    const record = this.liveRecord(keyId);
    if (record === undefined) {
      this.keys.set(keyId, {
        state: "uncertain",
        pending: {
          owner,
          key,
          fields,
          hash,
          window,
          possible: new Set(["none", "claimed", "stored", "completed"]),
          label,
        },
      });
    } else if (record.state === "uncertain" && record.pending.hash === hash && record.pending.item === undefined) {
      // A cut retry of a key a crash left open may have taken the claim over and stored the item now.
      record.pending.window = [record.pending.window[0], window[1]];
    }
    // A cut replay of a completed key, or a cut create with another body, changes nothing.
  }
}

// ---------------------------------------------------------------------------------------------
// Small checks

function envelopeProblems(observed: Observed, code: ModelErrorCode, gatewayId: string | null): string[] {
  const problems = expectJsonContentType(observed);
  const json: unknown = observed.json;
  if (!isObject(json) || !isObject(json.error) || Object.keys(json).length !== 1) {
    return [...problems, `the body is not the error envelope: ${truncate(observed.text)}`];
  }
  const error = json.error;
  if (Object.keys(error).sort().join(",") !== "code,message,requestId") {
    problems.push(`the envelope holds ${Object.keys(error).join(", ")}`);
  }
  if (error.code !== code) {
    problems.push(`code ${JSON.stringify(error.code)}, expected ${code}`);
  }
  if (typeof error.message !== "string" || error.message === "") {
    problems.push("the envelope has no message");
  }
  if (error.requestId !== gatewayId) {
    problems.push(`requestId ${JSON.stringify(error.requestId)} is not x-amz-apigw-id ${gatewayId}`);
  }
  return problems;
}

function expectJsonContentType(observed: Observed): string[] {
  const contentType = observed.headers.get("content-type");
  return contentType === "application/json" ? [] : [`Content-Type ${contentType}, expected application/json`];
}

function retryAfter(observed: Observed): string[] {
  const value = observed.headers.get("retry-after");
  return value === String(MODEL_LIMITS.retryAfterSeconds)
    ? []
    : [`Retry-After ${value}, expected ${MODEL_LIMITS.retryAfterSeconds}`];
}

function sameSet(actual: string[], expected: string[]): boolean {
  return (
    actual.length === new Set(actual).size &&
    actual.length === expected.length &&
    expected.every((member) => actual.includes(member))
  );
}

function truncate(text: string, length = 300): string {
  return text.length <= length ? text : `${text.slice(0, length)}... (${text.length} characters)`;
}
