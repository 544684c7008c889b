/**
 * THE table of an item's fields (ITEM_FIELDS) and of the query parameters (QUERY_PARAMETERS),
 * in the spirit of `CONFIG` in infra/settings.ts: each field's and parameter's type, range,
 * default, and whether the server alone sets it, stated once. Everything else derives from it:
 * the handlers' validation and the stored and answered shapes (handlers/model.ts), an
 * operation's typed query (`parseQuery` below), the three body schemas of the document and API
 * Gateway's models built from them (infra/schemas.ts), each route's query parameters
 * (infra/openapi.ts), and the README's tables (`npm run docs:items`, local/item-docs.ts).
 *
 * What JSON Schema, as API Gateway reads it, cannot state stays in handlers/model.ts (`LIMITS`
 * and its neighbours): the client attributes beside these fields, their names, count, depth and
 * numbers, prototype keys, and the body's bytes and encoding (handlers/request.ts).
 *
 * Plain data: this module ships in the Lambda archives, which CallbackFunction's serializer writes
 * object by object (no classes, and no key named `default`: the serializer takes an object with
 * one for an ES-module wrapper, hence `fallback`).
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import { badRequest } from "./errors";

/** A string; lengths count code points, as JSON Schema's do. */
interface StringSpec {
  type: "string";
  minLength?: number;
  maxLength?: number;
  format?: "uuid" | "date-time";
  fallback?: string;
}

interface IntegerSpec {
  type: "integer";
  minimum: number;
  maximum?: number;
  fallback?: number;
}

/** What a value must be: a field's or a parameter's type and range. */
export type ValueSpec = (StringSpec | IntegerSpec) & { description: string };

/**
 * A field of an item. Who uses it follows from its kind: every field is in the answered item
 * (the `Item` schema of every route that answers one); a client field is also in the bodies of
 * createItem and replaceItem (`NewItem`) and of patchItem (`ItemPatch`).
 * - `readOnly`: set by the server only; a body that sets it gets 400 read_only_field.
 * - `required`: a create or replace must set it, and a PATCH cannot remove it (null is refused).
 * - `fallback`: what a create or replace that leaves the field out stores, and what a PATCH's
 *   null resets it to.
 * - none of these: optional; left out it is absent, and a PATCH's null removes it.
 * So every client field that is not `required` may be null in a PATCH.
 */
export type FieldSpec = ValueSpec & { readOnly?: true; required?: true };

/** A query parameter, and the operations (route operationIds) that take it. */
export type ParameterSpec = ValueSpec & { operations: readonly string[] };

/** THE fields of an item, in the order an answered item lists them. */
export const ITEM_FIELDS = {
  id: { type: "string", format: "uuid", readOnly: true, description: "The item's id, assigned by the server" },
  name: { type: "string", minLength: 1, maxLength: 200, required: true, description: "The item's name" },
  description: { type: "string", maxLength: 2000, fallback: "", description: "Free text about the item" },
  version: {
    type: "integer",
    minimum: 1,
    readOnly: true,
    description: "1 when created, +1 per write; the ETag is its quoted value",
  },
  createdAt: { type: "string", format: "date-time", readOnly: true, description: "When it was created (UTC)" },
  updatedAt: { type: "string", format: "date-time", readOnly: true, description: "When it was last written (UTC)" },
} as const satisfies Record<string, FieldSpec>;

/** THE query parameters, with the operations that take each. */
const QUERY_PARAMETERS = {
  limit: {
    type: "integer",
    minimum: 1,
    maximum: 100,
    fallback: 20,
    operations: ["listItems"],
    description: "Items per page",
  },
  cursor: { type: "string", operations: ["listItems"], description: "nextCursor of the previous page (opaque)" },
} as const satisfies Record<string, ParameterSpec>;

// Exported here rather than at its declaration: `parseQuery` then reaches it as a module-local
// binding, which the serializer writes as one plain variable, not through the module object.
export { QUERY_PARAMETERS };

type Fields = typeof ITEM_FIELDS;
export type FieldName = keyof Fields;
type ValueOf<Spec> = Spec extends { type: "integer" } ? number : string;
/** The fields a client may set. */
export type ClientFieldName = { [K in FieldName]: Fields[K] extends { readOnly: true } ? never : K }[FieldName];
/** The fields every stored item has: the server's, the required ones and those with a fallback. */
type PresentFieldName = {
  [K in FieldName]: Fields[K] extends { readOnly: true } | { required: true } | { fallback: unknown } ? K : never;
}[FieldName];
/** The client fields a PATCH may set to null (all but the required ones). */
export type NullableFieldName = {
  [K in ClientFieldName]: Fields[K] extends { required: true } ? never : K;
}[ClientFieldName];

/** An item's field values, as stored and answered. */
export type FieldValues = { [K in PresentFieldName]: ValueOf<Fields[K]> } & {
  [K in Exclude<FieldName, PresentFieldName>]?: ValueOf<Fields[K]>;
};
/** A create's or replace's client fields, validated (fallbacks applied). */
export type ClientFieldValues = Pick<FieldValues, ClientFieldName>;
/** A PATCH's client fields: a value, or null to remove an optional field (fallbacks applied). */
export type ClientFieldPatch = { [K in ClientFieldName]?: ValueOf<Fields[K]> } & {
  [K in NullableFieldName]?: ValueOf<Fields[K]> | null;
};

/** Every field with its spec, in the table's order (for the schemas and docs; handlers read ITEM_FIELDS). */
export const FIELD_SPECS: readonly (readonly [FieldName, FieldSpec])[] = Object.entries(ITEM_FIELDS) as [
  FieldName,
  FieldSpec,
][];
/** The client fields with their specs, in the table's order. */
export const CLIENT_FIELD_SPECS = FIELD_SPECS.filter(
  (entry): entry is readonly [ClientFieldName, FieldSpec] => entry[1].readOnly !== true,
);
/** The names of the client fields, and of the fields only the server sets. */
export const CLIENT_FIELDS: readonly ClientFieldName[] = CLIENT_FIELD_SPECS.map(([name]) => name);
export const READ_ONLY_FIELDS: readonly string[] = FIELD_SPECS.filter(([, spec]) => spec.readOnly).map(
  ([name]) => name,
);

/** What a value must be, as a phrase: `a string of 1 to 200 characters`, `an integer from 1 to 100`. */
export function ruleOf(spec: ValueSpec): string {
  return spec.type === "integer"
    ? `an integer ${spec.maximum === undefined ? `of at least ${spec.minimum}` : `from ${spec.minimum} to ${spec.maximum}`}`
    : `a string${spec.maxLength === undefined ? "" : ` of ${spec.minLength ?? 0} to ${spec.maxLength} characters`}`;
}

/** `value` if the spec allows it, else a 400 naming `name` and the rule. A string's length counts code points. */
export function checkValue(name: string, spec: ValueSpec, value: unknown): string | number {
  const [size, min, max] =
    spec.type === "integer"
      ? [typeof value === "number" && Number.isInteger(value) ? value : NaN, spec.minimum, spec.maximum]
      : [typeof value === "string" ? Array.from(value).length : NaN, spec.minLength ?? 0, spec.maxLength];
  if (!(size >= min && size <= (max ?? Number.MAX_SAFE_INTEGER))) {
    throw badRequest(`${name} must be ${ruleOf(spec)}`);
  }
  return typeof value === "number" ? value : String(value);
}

type Parameters = typeof QUERY_PARAMETERS;
/** The query parameters `Operation` takes. */
type ParameterOf<Operation extends string> = {
  [K in keyof Parameters]: Operation extends Parameters[K]["operations"][number] ? K : never;
}[keyof Parameters];
/** An operation's query, typed from the table: a parameter with a fallback is always there. */
export type QueryOf<Operation extends string> = {
  [K in ParameterOf<Operation>]:
    ValueOf<Parameters[K]> | (Parameters[K] extends { fallback: unknown } ? never : undefined);
};

/**
 * The query of the operation `operationId`: each parameter the table gives it, validated, its
 * fallback when absent; other parameters are ignored. An integer is digits only (`+1`, `1.0` and
 * `1e1` are refused). (Cast: built from the table entries QueryOf derives from, each checked.)
 */
export function parseQuery<Operation extends string>(
  event: APIGatewayProxyEvent,
  operationId: Operation,
): QueryOf<Operation> {
  const query: Record<string, string | number | undefined> = {};
  for (const [name, spec] of Object.entries(QUERY_PARAMETERS) as [string, ParameterSpec][]) {
    if (spec.operations.includes(operationId)) {
      const raw = event.queryStringParameters?.[name];
      query[name] =
        typeof raw !== "string"
          ? spec.fallback
          : spec.type === "integer"
            ? checkValue(name, spec, /^\d{1,16}$/.test(raw) ? Number(raw) : NaN)
            : checkValue(name, spec, raw);
    }
  }
  return query as QueryOf<Operation>;
}
