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
  listItems: { items: ["dynamodb:Query"] },
  getItem: { items: ["dynamodb:GetItem"] },
  replaceItem: { items: ["dynamodb:UpdateItem", "dynamodb:GetItem"] },
  patchItem: { items: ["dynamodb:UpdateItem", "dynamodb:GetItem"] },
  deleteItem: { items: ["dynamodb:DeleteItem", "dynamodb:GetItem"] },
};
