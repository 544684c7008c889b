/** What the contract (DESIGN §2, §3) says, written out by hand: the infra tests compare the program to this. */

/** The routes as the contract states them (DESIGN §2), not as the route table says. */
export const ROUTES: { operationId: string; method: string; path: string; permissionPath: string }[] = [
  { operationId: "createItem", method: "POST", path: "/items", permissionPath: "/items" },
  { operationId: "listItems", method: "GET", path: "/items", permissionPath: "/items" },
  { operationId: "getItem", method: "GET", path: "/items/{id}", permissionPath: "/items/*" },
  { operationId: "replaceItem", method: "PUT", path: "/items/{id}", permissionPath: "/items/*" },
  { operationId: "patchItem", method: "PATCH", path: "/items/{id}", permissionPath: "/items/*" },
  { operationId: "deleteItem", method: "DELETE", path: "/items/{id}", permissionPath: "/items/*" },
];

/** Exactly the DynamoDB actions each operation's handler performs, per table. */
export const EXPECTED_DYNAMODB_ACTIONS: Record<string, { items?: string[]; idempotency?: string[] }> = {
  createItem: {
    items: ["dynamodb:PutItem", "dynamodb:GetItem"],
    idempotency: ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
  },
  listItems: { items: ["dynamodb:Scan"] },
  getItem: { items: ["dynamodb:GetItem"] },
  replaceItem: { items: ["dynamodb:UpdateItem", "dynamodb:GetItem"] },
  patchItem: { items: ["dynamodb:UpdateItem", "dynamodb:GetItem"] },
  deleteItem: { items: ["dynamodb:DeleteItem", "dynamodb:GetItem"] },
};

/**
 * The request headers the API reads besides the standard ones (README, "The HTTP API"): a body's
 * Content-Type, the conditional headers, the Idempotency-Key, the API key and the correlation id.
 * A browser's preflight must allow exactly these.
 */
export const CORS_REQUEST_HEADERS = [
  "Content-Type",
  "If-Match",
  "If-None-Match",
  "Idempotency-Key",
  "x-api-key",
  "x-correlation-id",
];

/** A comma-separated header list as a set to compare: names lower-cased (they are case-insensitive), sorted. */
export function headerNames(list: string | null | undefined): string[] {
  return (list ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "")
    .sort();
}
