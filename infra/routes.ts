/**
 * THE route table. Everything about a route is here as data: the OpenAPI document, the API
 * Gateway wiring, each function's IAM policy, the local runtime and the docs page are derived
 * from it. Adding a route is one entry (and its handler). Importing this creates no resource.
 */
import type { ErrorCode } from "../handlers/errors";
import type { ProxyHandler } from "../handlers/http";
import {
  ITEM_PATCH_MEDIA_TYPES,
  NEW_ITEM_MEDIA_TYPES,
  createItemFactory,
  deleteItemFactory,
  getItemFactory,
  listItemsFactory,
  patchItemFactory,
  replaceItemFactory,
} from "../handlers/operations";
import { JsonSchema, itemPatchSchema, newItemSchema } from "./schemas";
import { IDEMPOTENCY_TABLE, ITEMS_TABLE, TableDefinition } from "./table-definitions";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * The DynamoDB actions a route may name. No Scan: it reads every partition, and a LeadingKeys
 * condition does not limit it (Amazon DynamoDB Developer Guide, "Using IAM policy conditions for
 * fine-grained access control": "The list of actions does not include permissions for Scan
 * because Scan returns all items regardless of the leading keys").
 */
export type DynamoDbAction =
  "dynamodb:GetItem" | "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" | "dynamodb:Query";

/** The path and header parameters a route may name (infra/openapi.ts describes each); the query's are in handlers/fields.ts. */
export type ParameterName = "id" | "If-Match" | "If-None-Match" | "Idempotency-Key";

export interface Route {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/items/{id}`. */
  path: string;
  summary: string;
  description: string;
  /** CallbackFunction's `callbackFactory`: builds SDK clients once per container. */
  handlerFactory: () => ProxyHandler;
  /** Draft-4 schema of the JSON body (API Gateway model), for writes. */
  requestSchema?: { name: string; schema: JsonSchema; contentTypes: string[] };
  /** Its path and header parameters; its query parameters are those QUERY_PARAMETERS gives its operationId. */
  parameters: ParameterName[];
  success: { status: number; description: string; body?: "Item" | "ItemList"; headers?: string[] };
  /** Error codes this route can answer with, besides those every route can. */
  errors: ErrorCode[];
  /**
   * Exactly the DynamoDB actions the handler calls, per table: its IAM policy. The engines run
   * locally enforce no IAM: test/handlers/iam.test.ts runs every path of each handler and fails
   * when these differ from the commands it sends.
   */
  dynamodb: { table: TableDefinition; actions: DynamoDbAction[] }[];
}

const JSON_BODY = [...NEW_ITEM_MEDIA_TYPES];
const MERGE_PATCH_BODY = [...ITEM_PATCH_MEDIA_TYPES];

export const routes: readonly Route[] = [
  {
    operationId: "createItem",
    method: "POST",
    path: "/items",
    summary: "Create an item",
    description:
      "Stores a new item with a server-assigned id. With an Idempotency-Key, a retry of the same body within 24 hours returns the first response instead of storing a second item.",
    handlerFactory: createItemFactory,
    requestSchema: { name: "NewItem", schema: newItemSchema, contentTypes: JSON_BODY },
    parameters: ["If-Match", "If-None-Match", "Idempotency-Key"],
    success: { status: 201, description: "Created", body: "Item", headers: ["Location", "ETag"] },
    errors: [
      "malformed_json",
      "validation_failed",
      "read_only_field",
      "payload_too_large",
      "unsupported_media_type",
      "precondition_failed",
      "request_in_progress",
      "idempotency_key_reused",
    ],
    dynamodb: [
      { table: ITEMS_TABLE, actions: ["dynamodb:PutItem", "dynamodb:GetItem"] },
      {
        table: IDEMPOTENCY_TABLE,
        actions: ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
      },
    ],
  },
  {
    operationId: "listItems",
    method: "GET",
    path: "/items",
    summary: "List items",
    description:
      "One page of the caller's items, newest first. Pass nextCursor back as cursor for the next page; it is absent on the last page.",
    handlerFactory: listItemsFactory,
    parameters: ["If-Match", "If-None-Match"],
    success: { status: 200, description: "A page of items", body: "ItemList" },
    errors: ["validation_failed", "invalid_cursor", "precondition_failed"],
    dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:Query"] }],
  },
  {
    operationId: "getItem",
    method: "GET",
    path: "/items/{id}",
    summary: "Get an item",
    description: "The item and its ETag. With If-None-Match naming the current ETag, 304 without a body.",
    handlerFactory: getItemFactory,
    parameters: ["id", "If-Match", "If-None-Match"],
    success: { status: 200, description: "The item", body: "Item", headers: ["ETag"] },
    errors: ["not_found", "validation_failed", "precondition_failed"],
    dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:GetItem"] }],
  },
  {
    operationId: "replaceItem",
    method: "PUT",
    path: "/items/{id}",
    summary: "Replace an item",
    description:
      "Replaces every client field of an existing item (never creates one). With If-Match, only if the ETag still matches.",
    handlerFactory: replaceItemFactory,
    requestSchema: { name: "NewItem", schema: newItemSchema, contentTypes: JSON_BODY },
    parameters: ["id", "If-Match", "If-None-Match"],
    success: { status: 200, description: "The replaced item", body: "Item", headers: ["ETag"] },
    errors: [
      "malformed_json",
      "validation_failed",
      "read_only_field",
      "not_found",
      "precondition_failed",
      "payload_too_large",
      "unsupported_media_type",
    ],
    dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:UpdateItem", "dynamodb:GetItem"] }],
  },
  {
    operationId: "patchItem",
    method: "PATCH",
    path: "/items/{id}",
    summary: "Patch an item",
    description:
      "Applies a JSON Merge Patch (RFC 7396): null removes an attribute, objects merge. With If-Match, only if the ETag still matches.",
    handlerFactory: patchItemFactory,
    requestSchema: { name: "ItemPatch", schema: itemPatchSchema, contentTypes: MERGE_PATCH_BODY },
    parameters: ["id", "If-Match", "If-None-Match"],
    success: { status: 200, description: "The patched item", body: "Item", headers: ["ETag"] },
    errors: [
      "malformed_json",
      "validation_failed",
      "read_only_field",
      "not_found",
      "precondition_failed",
      "payload_too_large",
      "unsupported_media_type",
    ],
    dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:UpdateItem", "dynamodb:GetItem"] }],
  },
  {
    operationId: "deleteItem",
    method: "DELETE",
    path: "/items/{id}",
    summary: "Delete an item",
    description: "Deletes an existing item. With If-Match, only if the ETag still matches.",
    handlerFactory: deleteItemFactory,
    parameters: ["id", "If-Match", "If-None-Match"],
    success: { status: 204, description: "Deleted" },
    errors: ["not_found", "precondition_failed", "validation_failed"],
    dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:DeleteItem", "dynamodb:GetItem"] }],
  },
];

/**
 * The methods a route answers: HEAD wherever GET is (RFC 9110 §9.1: "All general-purpose servers
 * MUST support the methods GET and HEAD"), by the GET route's function, which sends no body.
 */
export function methodsOf(route: Route): HttpMethod[] {
  return route.method === "GET" ? ["GET", "HEAD"] : [route.method];
}

/** The operationId of a route's operation for one of its methods. */
export function operationIdOf(route: Route, method: HttpMethod): string {
  return method === route.method
    ? route.operationId
    : `${route.operationId}${method[0]}${method.slice(1).toLowerCase()}`;
}

/** Every method a path answers, OPTIONS (the CORS preflight) last: its 405's `Allow`. */
export function allowedMethods(pathRoutes: readonly Route[]): string[] {
  return [...pathRoutes.flatMap(methodsOf), "OPTIONS"];
}

/** Paths in the order they first appear, each with its routes. */
export function routesByPath(table: readonly Route[] = routes): Map<string, Route[]> {
  const byPath = new Map<string, Route[]>();
  for (const route of table) {
    byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  }
  return byPath;
}
