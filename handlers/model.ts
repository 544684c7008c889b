/**
 * The item model: validation of client input, the stored shape, the response shape and JSON
 * Merge Patch (RFC 7396). Pure functions, no I/O.
 */
import { badRequest, httpError } from "./errors";
import {
  CLIENT_FIELDS,
  CLIENT_FIELD_SPECS,
  ClientFieldPatch,
  ClientFieldValues,
  FIELD_SPECS,
  FieldSpec,
  FieldValues,
  READ_ONLY_FIELDS,
  checkValue,
} from "./fields";

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/**
 * What DynamoDB holds: the fields of handlers/fields.ts, and the client attributes in the `attrs`
 * map so that `size(attrs)` counts them.
 */
export type StoredItem = FieldValues & { attrs: JsonObject };

/** Client-writable fields of a create or replace, validated. */
export type ItemInput = ClientFieldValues & { attrs: JsonObject };

/** A validated merge patch: `null` in `attrs` removes; a field's null is its fallback, or null to remove it. */
export type ItemPatch = ClientFieldPatch & { attrs: JsonObject };

/**
 * THE rules of an item that the gateway's models cannot state (JSON Schema as API Gateway reads
 * it), enforced by the handlers alone: the client attributes beside the fields of
 * handlers/fields.ts (their names, ATTRIBUTE_NAME_PATTERN, and count), their nesting depth and
 * nested keys, the numbers an item can hold (NUMBER_RULE), prototype keys (FORBIDDEN_KEYS), the
 * type of a field that a PATCH may set to null, and read-only fields answered 400 read_only_field
 * (a model can only refuse with the gateway's validation_failed). The body's size and UTF-8 are
 * checked in handlers/request.ts. infra/schemas.ts states them in the models' descriptions.
 */
export const LIMITS = {
  maxAttributes: 50,
  maxDepth: 8,
  maxNestedKeyLength: 255,
};

export const ATTRIBUTE_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]{0,63}$";
const ATTRIBUTE_NAME = new RegExp(ATTRIBUTE_NAME_PATTERN);
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

/**
 * Checks a client attribute: its name, then its value. Depth counts containers: a scalar is 0
 * deep, `[1]` 1; a container that would make the value deeper than LIMITS.maxDepth is refused
 * before its members are read, so the recursion stays that shallow whatever the value holds.
 */
function validateAttribute(name: string, value: Json): void {
  if (!ATTRIBUTE_NAME.test(name)) {
    throw badRequest(
      `attribute name ${JSON.stringify(name)} is invalid: names start with a letter and hold at most 64 letters, digits or underscores`,
    );
  }
  const validateValue = (member: Json, depth: number): void => {
    if (typeof member === "number") {
      if (!isStorableNumber(member)) {
        throw badRequest(`attribute ${name} holds the number ${member}, which cannot be stored: ${NUMBER_RULE}`);
      }
    } else if (Array.isArray(member) || isJsonObject(member)) {
      if (depth >= LIMITS.maxDepth) {
        throw badRequest(`attribute ${name} is nested deeper than ${LIMITS.maxDepth} levels`);
      }
      for (const [key, nested] of Object.entries(member)) {
        if (
          !Array.isArray(member) &&
          (key.length === 0 || key.length > LIMITS.maxNestedKeyLength || FORBIDDEN_KEYS.includes(key))
        ) {
          throw badRequest(
            `attribute ${name} has the key ${JSON.stringify(key)}: nested keys hold 1 to ${LIMITS.maxNestedKeyLength} characters and are not __proto__, constructor or prototype`,
          );
        }
        validateValue(nested, depth + 1);
      }
    }
  };
  validateValue(value, 0);
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

// What the handlers read of the table, computed from it when this module loads: a Lambda archive
// then holds these few values, not the whole table with its descriptions.
/** The spec of each client field. */
const CLIENT_SPECS: Readonly<Record<string, FieldSpec>> = Object.fromEntries(CLIENT_FIELD_SPECS);
/** The JavaScript type of each field's value, in the table's order. */
const FIELD_TYPES: Readonly<Record<string, string>> = Object.fromEntries(
  FIELD_SPECS.map(([name, spec]) => [name, spec.type === "integer" ? "number" : "string"]),
);
/** The fields a stored item may lack: neither set by the server, required, nor with a fallback. */
const OPTIONAL_FIELDS: readonly string[] = FIELD_SPECS.filter(
  ([, spec]) => !(spec.readOnly || spec.required || spec.fallback !== undefined),
).map(([name]) => name);

/** "name and description": the client fields, for messages. */
const CLIENT_FIELD_LIST = CLIENT_FIELDS.join(", ").replace(/, ([^,]*)$/, " and $1");

export const TOO_MANY_ATTRIBUTES = `an item holds at most ${LIMITS.maxAttributes} attributes besides ${CLIENT_FIELD_LIST}`;

/**
 * Validates the body of a create or a replace: each client field in the table's order, then the
 * attributes. (The result is cast: each field was checked against the spec ItemInput derives from.)
 */
export function parseItemInput(body: unknown): ItemInput {
  const object = requireObject(body);
  const fields: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CLIENT_SPECS)) {
    const value = object[name];
    if (value !== undefined || spec.required) {
      fields[name] = checkValue(name, spec, value);
    } else if (spec.fallback !== undefined) {
      fields[name] = spec.fallback;
    }
  }
  const attrs: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    if (!Object.hasOwn(CLIENT_SPECS, key)) {
      validateAttribute(key, value);
      attrs[key] = value;
    }
  }
  if (Object.keys(attrs).length > LIMITS.maxAttributes) {
    throw badRequest(TOO_MANY_ATTRIBUTES);
  }
  return { ...fields, attrs } as ItemInput;
}

/**
 * Validates a JSON Merge Patch body (cast as parseItemInput's: each field checked, null only where
 * the spec allows it). The attribute count after merging is checked by the caller.
 */
export function parseItemPatch(body: unknown): ItemPatch {
  const object = requireObject(body);
  const fields: Record<string, unknown> = {};
  const attrs: JsonObject = {};
  for (const [key, value] of Object.entries(object)) {
    const spec = Object.hasOwn(CLIENT_SPECS, key) ? CLIENT_SPECS[key] : undefined;
    if (spec === undefined) {
      validateAttribute(key, value);
      attrs[key] = value;
    } else if (value !== null) {
      fields[key] = checkValue(key, spec, value);
    } else if (spec.required) {
      throw badRequest(`${key} cannot be removed`);
    } else {
      fields[key] = spec.fallback ?? null;
    }
  }
  const added = Object.values(attrs).filter((value) => value !== null).length;
  if (added > LIMITS.maxAttributes) {
    throw badRequest(TOO_MANY_ATTRIBUTES);
  }
  return { ...fields, attrs } as ItemPatch;
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

/** The values `source` has for `names`, in that order. */
export function pick(source: object, names: readonly string[]): JsonObject {
  const values: JsonObject = {};
  for (const name of names) {
    const value: unknown = Reflect.get(source, name);
    if (value !== undefined) {
      values[name] = value as Json;
    }
  }
  return values;
}

/**
 * The patched item's client fields, computed in memory (the slow path of a PATCH): the current
 * item's, with the patch's over them, a null there removing the field.
 */
export function mergeItem(current: StoredItem, patch: ItemPatch): ItemInput {
  const attrs = applyMergePatch(current.attrs, patch.attrs);
  const merged = isJsonObject(attrs) ? attrs : {};
  if (Object.keys(merged).length > LIMITS.maxAttributes) {
    throw badRequest(TOO_MANY_ATTRIBUTES);
  }
  const fields: JsonObject = { ...pick(current, CLIENT_FIELDS), ...pick(patch, CLIENT_FIELDS) };
  return {
    ...pick(
      fields,
      CLIENT_FIELDS.filter((name) => fields[name] !== null),
    ),
    attrs: merged,
  } as ItemInput;
}

/** The client fields and attributes of an input (or an item): what an Idempotency-Key compares. */
export function clientFieldsOf(input: ItemInput): JsonObject {
  return { ...pick(input, CLIENT_FIELDS), attrs: input.attrs };
}

/** The fields an answered item lists before its client attributes (up to the last client field), and after. */
const FIELD_NAMES = Object.keys(FIELD_TYPES);
const ATTRIBUTES_AT = FIELD_NAMES.indexOf(CLIENT_FIELDS[CLIENT_FIELDS.length - 1] ?? "") + 1;
const [FIELDS_BEFORE, FIELDS_AFTER] = [FIELD_NAMES.slice(0, ATTRIBUTES_AT), FIELD_NAMES.slice(ATTRIBUTES_AT)];

/** The item as clients see it: the fields in the table's order, the client attributes after the client fields. */
export function toResponseItem(item: StoredItem): JsonObject {
  return { ...pick(item, FIELDS_BEFORE), ...item.attrs, ...pick(item, FIELDS_AFTER) };
}

export function etagOf(item: StoredItem): string {
  return `"${item.version}"`;
}

/**
 * A stored record as an item, read defensively (anything else in the table is not one): each
 * field of its type, present unless optional, and the attributes; other attributes (write tokens)
 * are left out. (Cast: each field of the table was checked for its type and presence.)
 */
export function storedItemOf(value: unknown): StoredItem | undefined {
  if (!isJsonObject(value) || !isJsonObject(value.attrs)) {
    return undefined;
  }
  for (const [name, type] of Object.entries(FIELD_TYPES)) {
    const field = value[name];
    if (field === undefined ? !OPTIONAL_FIELDS.includes(name) : typeof field !== type) {
      return undefined;
    }
  }
  return { ...pick(value, FIELD_NAMES), attrs: value.attrs } as unknown as StoredItem;
}

/** Whether a stored record is an item (see storedItemOf). */
export function isStoredItem(value: unknown): value is StoredItem {
  return storedItemOf(value) !== undefined;
}
