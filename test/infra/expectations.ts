/**
 * What the contract (README, "The HTTP API" and "Deploy to AWS") says, written out by hand: the
 * tests compare the program to this.
 */

/** The routes as the contract states them, not as the route table says. */
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

/** The request headers a preflight allows: with sign-in, the token's header too. */
export function corsRequestHeaders(signIn: "none" | "cognito"): string[] {
  return headerNames([...(signIn === "cognito" ? ["Authorization"] : []), ...CORS_REQUEST_HEADERS].join(","));
}

/** A comma-separated header list as a set to compare: names lower-cased (they are case-insensitive), sorted. */
export function headerNames(list: string | null | undefined): string[] {
  return (list ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "")
    .sort();
}

/**
 * The status of each answer API Gateway makes itself, as the contract's error table gives it
 * (README, "The HTTP API"), by status; `fallback` are the DEFAULT_* responses, which keep the
 * status API Gateway chose. REQUEST_TOO_LARGE cannot be customized.
 */
export const GATEWAY_RESPONSES_BY_STATUS: Record<string, string[]> = {
  400: ["BAD_REQUEST_PARAMETERS", "BAD_REQUEST_BODY"],
  401: ["UNAUTHORIZED"],
  403: ["ACCESS_DENIED", "EXPIRED_TOKEN", "INVALID_API_KEY", "INVALID_SIGNATURE", "WAF_FILTERED"],
  404: ["MISSING_AUTHENTICATION_TOKEN", "RESOURCE_NOT_FOUND"],
  415: ["UNSUPPORTED_MEDIA_TYPE"],
  429: ["QUOTA_EXCEEDED", "THROTTLED"],
  500: ["API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE"],
  503: ["INTEGRATION_FAILURE"],
  504: ["INTEGRATION_TIMEOUT"],
  fallback: ["DEFAULT_4XX", "DEFAULT_5XX"],
};
