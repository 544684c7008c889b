/**
 * Request and response schemas of the public document (OpenAPI 3.0), each derived from THE table
 * of an item's fields (handlers/fields.ts): `NewItem` (createItem, replaceItem), `ItemPatch`
 * (patchItem) and `Item` (every answered item). API Gateway's models are these schemas as
 * `gatewayModelOf` (infra/apigateway-openapi.ts) leaves them: without the annotations and the
 * keywords a model cannot hold, so a model checks each field's type and range where draft 4 can
 * say it and lets the rest through to the handler, which refuses what the table and LIMITS
 * (handlers/model.ts) refuse. A model therefore never refuses what a handler accepts, which
 * test/unit/schemas.test.ts checks on generated bodies.
 */
import { ERROR_STATUS } from "../handlers/errors";
import { CLIENT_FIELD_SPECS, FIELD_SPECS, FieldSpec, READ_ONLY_FIELDS, ValueSpec } from "../handlers/fields";
import { ATTRIBUTE_NAME_PATTERN, FORBIDDEN_KEYS, LIMITS, NUMBER_RULE } from "../handlers/model";

export type JsonSchema = { [key: string]: unknown };

const READ_ONLY_ANSWER = `${ERROR_STATUS.read_only_field} read_only_field`;

/** A field's or parameter's schema from its spec: type, range and format (its description is the caller's to place). */
export function valueSchema(spec: ValueSpec): JsonSchema {
  return {
    type: spec.type,
    ...(spec.type === "string"
      ? {
          ...(spec.format === undefined ? {} : { format: spec.format }),
          ...(spec.minLength === undefined ? {} : { minLength: spec.minLength }),
          ...(spec.maxLength === undefined ? {} : { maxLength: spec.maxLength }),
        }
      : { minimum: spec.minimum, ...(spec.maximum === undefined ? {} : { maximum: spec.maximum }) }),
  };
}

/** The spec's fallback as the schema's `default` (an annotation: what the server uses when it is left out). */
export function defaultOf(spec: ValueSpec): JsonSchema {
  return spec.fallback === undefined ? {} : { default: spec.fallback };
}

/** What a null in a PATCH does to a field that may be null. */
function nullMeaning(spec: FieldSpec): string {
  return spec.fallback === undefined ? "null removes it" : `null resets it to ${JSON.stringify(spec.fallback)}`;
}

/**
 * The rules the handlers alone enforce (handlers/model.ts LIMITS and its neighbours), as the
 * models' descriptions and the README state them.
 */
export const HANDLER_ONLY_RULES: readonly string[] = [
  `Other attributes: names match ${ATTRIBUTE_NAME_PATTERN}, at most ${LIMITS.maxAttributes} of them, values any JSON nested at most ${LIMITS.maxDepth} levels deep; ${NUMBER_RULE}.`,
  `Nested object keys hold 1 to ${LIMITS.maxNestedKeyLength} characters; ${FORBIDDEN_KEYS.join(", ")} are refused as keys anywhere.`,
  `${READ_ONLY_FIELDS.join(", ")} are set by the server: a body that sets one gets ${READ_ONLY_ANSWER}.`,
];

/**
 * The server-managed fields, declared read-only (OpenAPI 3.0: "SHOULD NOT be sent as part of the
 * request"). A model keeps no annotation, so API Gateway lets them through to the handler, which
 * answers 400 read_only_field.
 */
const readOnlyFields: Record<string, JsonSchema> = Object.fromEntries(
  READ_ONLY_FIELDS.map((field) => [field, { readOnly: true, description: `Set by the server: ${READ_ONLY_ANSWER}` }]),
);

const clientFieldNames = CLIENT_FIELD_SPECS.map(([name]) => name);

/** Body of createItem and replaceItem. */
export const newItemSchema: JsonSchema = {
  title: "NewItem",
  description: `An item's client fields (${clientFieldNames.join(", ")}) and up to ${LIMITS.maxAttributes} other attributes. ${HANDLER_ONLY_RULES.join(" ")}`,
  type: "object",
  required: CLIENT_FIELD_SPECS.filter(([, spec]) => spec.required).map(([name]) => name),
  properties: {
    // The fallback in words, not as `default`: openapi-typescript types a property with a
    // default as always present, which a client's body need not be.
    ...Object.fromEntries(
      CLIENT_FIELD_SPECS.map(([name, spec]) => [
        name,
        {
          ...valueSchema(spec),
          description:
            spec.fallback === undefined
              ? spec.description
              : `${spec.description}; ${JSON.stringify(spec.fallback)} when left out`,
        },
      ]),
    ),
    ...readOnlyFields,
  },
  additionalProperties: true,
  maxProperties: LIMITS.maxAttributes + clientFieldNames.length,
};

/** Body of patchItem: a JSON Merge Patch (RFC 7396); null removes an attribute. */
export const itemPatchSchema: JsonSchema = {
  title: "ItemPatch",
  description: `A JSON Merge Patch (RFC 7396) of an item: null removes an attribute (${CLIENT_FIELD_SPECS.map(
    ([name, spec]) => (spec.required ? `${name} cannot be removed` : `${name}: ${nullMeaning(spec)}`),
  ).join("; ")}). ${HANDLER_ONLY_RULES.join(" ")}`,
  type: "object",
  properties: {
    ...Object.fromEntries(
      CLIENT_FIELD_SPECS.map(([name, spec]) => [
        name,
        spec.required
          ? { ...valueSchema(spec), description: spec.description }
          : { ...valueSchema(spec), nullable: true, description: `${spec.description}; ${nullMeaning(spec)}` },
      ]),
    ),
    ...readOnlyFields,
  },
  additionalProperties: true,
  // No maxProperties: removals (null) do not count, and the limit holds after merging.
};

/** Response schemas (OpenAPI 3.0 dialect), for the document and the docs page. */
export const itemSchema: JsonSchema = {
  type: "object",
  required: FIELD_SPECS.filter(([, spec]) => spec.readOnly || spec.required || spec.fallback !== undefined).map(
    ([name]) => name,
  ),
  properties: Object.fromEntries(
    FIELD_SPECS.map(([name, spec]) => [
      name,
      { ...valueSchema(spec), ...(spec.readOnly ? { readOnly: true } : {}), description: spec.description },
    ]),
  ),
  additionalProperties: true,
  example: {
    id: "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11",
    name: "Espresso machine",
    description: "Dual boiler",
    status: "in-stock",
    version: 1,
    createdAt: "2026-01-01T12:00:00.000Z",
    updatedAt: "2026-01-01T12:00:00.000Z",
  },
};

export const itemListSchema: JsonSchema = {
  type: "object",
  required: ["items"],
  properties: {
    items: { type: "array", items: { $ref: "#/components/schemas/Item" } },
    nextCursor: { type: "string", description: "Pass as `cursor` for the next page; absent on the last page" },
  },
};

export const errorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "requestId"],
      properties: {
        code: { type: "string", example: "validation_failed" },
        message: { type: "string", example: "name must be a string of 1 to 200 characters" },
        requestId: { type: "string" },
      },
    },
  },
};
