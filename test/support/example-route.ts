/**
 * The README's worked example of adding a route ("Add a route"), exactly as written there:
 * a handler and one route-table entry. test/local/new-route.test.ts shows it reaching the API,
 * the OpenAPI document and (through example-route-preload.ts) the stack's wiring.
 */
import { httpError } from "../../handlers/errors";
import { Operation, handlerFactory } from "../../handlers/http";
import { toResponseItem } from "../../handlers/model";
import { itemIdOf } from "../../handlers/request";
import { readItem } from "../../handlers/item-store";
import { Route } from "../../infra/routes";
import { ITEMS_TABLE } from "../../infra/table-definitions";

// --- README: handlers/operations.ts ---
/** GET /items/{id}/summary: the item's id, name and version only. */
export const getItemSummary: Operation = async ({ event, store }) => {
  const item = await readItem(store, itemIdOf(event));
  if (item === undefined) {
    throw httpError("not_found");
  }
  const { id, name, version } = toResponseItem(item);
  return { statusCode: 200, body: { id, name, version } };
};

export const getItemSummaryFactory = handlerFactory("getItemSummary", getItemSummary);
// --- end ---

// --- README: infra/routes.ts ---
export const getItemSummaryRoute: Route = {
  operationId: "getItemSummary",
  method: "GET",
  path: "/items/{id}/summary",
  summary: "Get an item's summary",
  description: "The item's id, name and version.",
  handlerFactory: getItemSummaryFactory,
  parameters: ["id"],
  success: { status: 200, description: "The summary" },
  errors: ["not_found"],
  dynamodb: [{ table: ITEMS_TABLE, actions: ["dynamodb:GetItem"] }],
};
// --- end ---
