/**
 * The item model: validation of client input, the stored shape, the response shape and JSON
 * Merge Patch (RFC 7396). Pure functions, no I/O.
 */
import { badRequest, httpError } from "./errors";

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** What DynamoDB holds. Client attributes live in the `attrs` map so that `size(attrs)` counts them. */
export interface StoredItem {
  id: string;
  name: string;
  description: string;
  attrs: JsonObject;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** Client-writable fields of a create or replace, validated. */
export interface ItemInput {
  name: string;
  description: string;
  attrs: JsonObject;
}

/** A validated merge patch: `null` removes; `description: null` resets it to "". */
export interface ItemPatch {
  name?: string;
  description?: string;
  attrs: JsonObject;
}

export const LIMITS = {
  nameMaxLength: 200,
  descriptionMaxLength: 2000,
  maxAttributes: 50,
  maxDepth: 8,
  maxNestedKeyLength: 255,
};

export const READ_ONLY_FIELDS: readonly string[] = ["id", "version", "createdAt", "updatedAt"];
export const ATTRIBUTE_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]{0,63}$";
/** Keys refused anywhere in a body: they pollute prototypes when merged into plain objects. */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

/**
 * The numbers an item holds: every JSON number that reads back exactly as the same JavaScript
 * number. That is 0 and every integer of magnitude up to 2^53 - 1 (beyond it JSON clients cannot
 * keep integers exact, RFC 7493 §2.2, and lib-dynamodb refuses to write them: util-dynamodb's
 * convertToNumberAttr throws above Number.MAX_SAFE_INTEGER), and every other number of magnitude
 * from 1e-130, DynamoDB's smallest, up. A double of magnitude 2^52 or more is always an integer,
 * so DynamoDB's upper bound (just under 1e126) is never reached and needs no rule: 1e125 and 1e126
 * are integers beyond 2^53 and refused as such. -0 is stored (and answered) as 0, and a literal
 * too small for a double (1e-400, which JSON.parse reads as 0) is refused by `jsonBodyOf`.
 */
export const NUMBER_RULE =
  "numbers must be integers of magnitude at most 9007199254740991 (2^53 - 1), or other numbers of magnitude at least 1e-130";
const DYNAMODB_MIN_MAGNITUDE = 1e-130;

/** Whether an item may hold `value` (see NUMBER_RULE). */
export function isStorableNumber(value: number): boolean {
  return Number.isInteger(value)
    ? Number.isSafeInteger(value)
    : Number.isFinite(value) && Math.abs(value) >= DYNAMODB_MIN_MAGNITUDE;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The value of a client-chosen key: own properties only. `object[key]` would answer a function
 * for `toString` or `valueOf` on an object that lacks them (inherited from Object.prototype).
 */
export function ownValue(object: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Length in Unicode code points, as JSON Schema's maxLength counts it. */
function characterCount(value: string): number {
  return Array.from(value).length;
}

function validateName(value: unknown): string {
  if (typeof value !== "string" || characterCount(value) < 1 || characterCount(value) > LIMITS.nameMaxLength) {
    throw badRequest(`name must be a string of 1 to ${LIMITS.nameMaxLength} characters`);
  }
  return value;
}

function validateDescription(value: unknown): string {
  if (typeof value !== "string" || characterCount(value) > LIMITS.descriptionMaxLength) {
    throw badRequest(`description must be a string of 0 to ${LIMITS.descriptionMaxLength} characters`);
  }
  return value;
}

export function isValidAttributeName(name: string): boolean {
  return new RegExp(ATTRIBUTE_NAME_PATTERN).test(name);
}

function validateAttributeName(name: string): void {
  if (!isValidAttributeName(name)) {
    throw badRequest(
      `attribute name ${JSON.stringify(name)} is invalid: names start with a letter and hold at most 64 letters, digits or underscores`,
    );
  }
}

/**
 * Depth of a JSON value: scalars 0, arrays and objects 1 + their deepest member. Iterative, so
 * a value nested thousands of levels deep is measured, not a stack overflow.
 */
export function jsonDepth(value: Json): number {
  let deepest = 0;
  const pending: [Json, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (Array.isArray(current) || isJsonObject(current)) {
      const members = Array.isArray(current) ? current : Object.values(current);
      deepest = Math.max(deepest, depth + 1);
      for (const member of members) {
        pending.push([member, depth + 1]);
      }
    }
  }
  return deepest;
}

function validateValue(attribute: string, value: Json): void {
  if (typeof value === "number") {
    if (!isStorableNumber(value)) {
      throw badRequest(`attribute ${attribute} holds the number ${value}, which cannot be stored: ${NUMBER_RULE}`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((member) => validateValue(attribute, member));
  } else if (isJsonObject(value)) {
    for (const [key, member] of Object.entries(value)) {
      if (key.length === 0 || key.length > LIMITS.maxNestedKeyLength || FORBIDDEN_KEYS.includes(key)) {
        throw badRequest(
          `attribute ${attribute} has the key ${JSON.stringify(key)}: nested keys hold 1 to ${LIMITS.maxNestedKeyLength} characters and are not __proto__, constructor or prototype`,
        );
      }
      validateValue(attribute, member);
    }
  }
}

function validateAttribute(name: string, value: Json): void {
  validateAttributeName(name);
  if (jsonDepth(value) > LIMITS.maxDepth) {
    throw badRequest(`attribute ${name} is nested deeper than ${LIMITS.maxDepth} levels`);
  }
  validateValue(name, value);
}

function requireObject(body: unknown): JsonObject {
  if (!isJsonObject(body)) {
    throw badRequest("the request body must be a JSON object");
  }
  const readOnly = Object.keys(body).filter((key) => READ_ONLY_FIELDS.includes(key));
  if (readOnly.length > 0) {
    throw httpError(
      "read_only_field",
      `${readOnly.join(", ")} ${readOnly.length === 1 ? "is" : "are"} managed by the server and cannot be set`,
    );
  }
  return body;
}

export function tooManyAttributes(): Error {
  return badRequest(`an item holds at most ${LIMITS.maxAttributes} attributes besides name and description`);
}

/** Validates the body of a create or a replace. */
export function parseItemInput(body: unknown): ItemInput {
  const object = requireObject(body);
  const name = validateName(object.name);
  const description = object.description === undefined ? "" : validateDescription(object.description);
  const attrs: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (key === "name" || key === "description") {
      continue;
    }
    validateAttribute(key, value);
    attrs[key] = value;
  }
  if (Object.keys(attrs).length > LIMITS.maxAttributes) {
    throw tooManyAttributes();
  }
  return { name, description, attrs };
}

/** Validates a JSON Merge Patch body. The attribute count after merging is checked by the caller. */
export function parseItemPatch(body: unknown): ItemPatch {
  const object = requireObject(body);
  const patch: ItemPatch = { attrs: {} };
  for (const [key, value] of Object.entries(object)) {
    if (key === "name") {
      if (value === null) {
        throw badRequest("name cannot be removed");
      }
      patch.name = validateName(value);
    } else if (key === "description") {
      patch.description = value === null ? "" : validateDescription(value);
    } else {
      validateAttribute(key, value);
      patch.attrs[key] = value;
    }
  }
  const added = Object.values(patch.attrs).filter((value) => value !== null).length;
  if (added > LIMITS.maxAttributes) {
    throw tooManyAttributes();
  }
  return patch;
}

/** RFC 7396 MergePatch(target, patch). */
export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isJsonObject(patch)) {
    return patch;
  }
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = applyMergePatch(ownValue(result, key), value);
    }
  }
  return result;
}

/** The patched item's client fields, computed in memory (the slow path of a PATCH). */
export function mergeItem(current: StoredItem, patch: ItemPatch): ItemInput {
  const attrs = applyMergePatch(current.attrs, patch.attrs);
  const merged = isJsonObject(attrs) ? attrs : {};
  if (Object.keys(merged).length > LIMITS.maxAttributes) {
    throw tooManyAttributes();
  }
  return {
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attrs: merged,
  };
}

/** The item as clients see it: client attributes beside the fixed fields. */
export function toResponseItem(item: StoredItem): JsonObject {
  return {
    id: item.id,
    name: item.name,
    description: item.description,
    ...item.attrs,
    version: item.version,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

export function etagOf(item: StoredItem): string {
  return `"${item.version}"`;
}

/** Reads a stored record defensively: anything else in the table is not an item. */
export function isStoredItem(value: unknown): value is StoredItem {
  if (!isJsonObject(value)) {
    return false;
  }
  return (
    typeof value.id === "string" &&
    typeof value.name === "string" &&
    typeof value.description === "string" &&
    isJsonObject(value.attrs) &&
    typeof value.version === "number" &&
    typeof value.createdAt === "string" &&
    typeof value.updatedAt === "string"
  );
}
