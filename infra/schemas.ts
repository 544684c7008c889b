/**
 * Request and response schemas. A request schema is three things at once: the OpenAPI 3.0 schema
 * of the public document, the API Gateway model (JSON Schema draft 4) that validates bodies in
 * AWS, and, through the same document, the local runtime's validator. So it uses only what
 * OpenAPI 3.0 and draft 4 share with one meaning (infra/apigateway-import.ts lists it): no
 * patternProperties, type arrays or nullable. Models are a coarse first gate: the handlers
 * enforce the full rules (attribute names and count, nesting depth, read-only fields, numbers
 * DynamoDB can store) with precise messages, so a model never rejects what a handler accepts.
 */
import { ERROR_STATUS } from "../handlers/errors";
import { ATTRIBUTE_NAME_PATTERN, FORBIDDEN_KEYS, LIMITS, NUMBER_RULE, READ_ONLY_FIELDS } from "../handlers/model";

export type JsonSchema = { [key: string]: unknown };

const name: JsonSchema = { type: "string", minLength: 1, maxLength: LIMITS.nameMaxLength };
const description: JsonSchema = { type: "string", maxLength: LIMITS.descriptionMaxLength };
/** name + description + the client attributes. */
const maxProperties = LIMITS.maxAttributes + 2;
const READ_ONLY_ANSWER = `${ERROR_STATUS.read_only_field} read_only_field`;

/** What a model cannot say about client attributes; the handlers enforce it. */
const ATTRIBUTE_RULES =
  `Other attributes: names match ${ATTRIBUTE_NAME_PATTERN}, at most ${LIMITS.maxAttributes} of them, ` +
  `values any JSON nested at most ${LIMITS.maxDepth} levels deep; ${NUMBER_RULE}. ` +
  `Nested object keys hold 1 to ${LIMITS.maxNestedKeyLength} characters; ${FORBIDDEN_KEYS.join(", ")} are refused as keys anywhere. ` +
  `${READ_ONLY_FIELDS.join(", ")} are set by the server: a body that sets one gets ${READ_ONLY_ANSWER}.`;

/**
 * The server-managed fields, declared read-only (OpenAPI 3.0: "SHOULD NOT be sent as part of the
 * request"). A model keeps no annotation, so API Gateway lets them through to the handler, which
 * answers 400 read_only_field.
 */
const readOnlyFields: Record<string, JsonSchema> = Object.fromEntries(
  READ_ONLY_FIELDS.map((field) => [field, { readOnly: true, description: `Set by the server: ${READ_ONLY_ANSWER}` }]),
);

/** Body of createItem and replaceItem. */
export const newItemSchema: JsonSchema = {
  title: "NewItem",
  description: `An item's client fields: name, description and up to ${LIMITS.maxAttributes} other attributes. ${ATTRIBUTE_RULES}`,
  type: "object",
  required: ["name"],
  properties: { name, description, ...readOnlyFields },
  additionalProperties: true,
  maxProperties,
};

/** Body of patchItem: a JSON Merge Patch (RFC 7396); null removes an attribute. */
export const itemPatchSchema: JsonSchema = {
  title: "ItemPatch",
  description: `A JSON Merge Patch (RFC 7396) of an item: null removes an attribute (name cannot be removed; description: null resets it to ""). ${ATTRIBUTE_RULES}`,
  type: "object",
  properties: {
    name,
    // A string or null, said in what OpenAPI 3.0 and draft 4 share (no type arrays, no nullable).
    description: { anyOf: [description, { enum: [null] }] },
    ...readOnlyFields,
  },
  additionalProperties: true,
  // No maxProperties: removals (null) do not count, and the limit holds after merging.
};

/** Response schemas (OpenAPI 3.0 dialect), for the document and the docs page. */
export const itemSchema: JsonSchema = {
  type: "object",
  required: ["id", "name", "description", "version", "createdAt", "updatedAt"],
  properties: {
    id: { type: "string", format: "uuid", readOnly: true },
    name,
    description,
    version: { type: "integer", minimum: 1, readOnly: true, description: "+1 per write; the ETag is its quoted value" },
    createdAt: { type: "string", format: "date-time", readOnly: true },
    updatedAt: { type: "string", format: "date-time", readOnly: true },
  },
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
