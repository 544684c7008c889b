/**
 * Pure: route table + settings -> OpenAPI 3.0 document. The same document is served by the
 * local runtime (`/openapi.json`), exported by the stack (`openApiDocument`) and, with API
 * Gateway's `x-amazon-apigateway-*` extensions added by `apiGatewayBody`, deployed.
 */
import { ERROR_STATUS, ErrorCode, RETRY_AFTER_SECONDS } from "../handlers/errors";
import { ParameterSpec, QUERY_PARAMETERS } from "../handlers/fields";
import { MAX_BODY_BYTES, MAX_IF_MATCH_TAGS } from "../handlers/request";
import { API_KEY_HEADER } from "./apigateway-import";
import type { Settings } from "./config";
import { Route, ParameterName, methodsOf, operationIdOf, routes as defaultRoutes, routesByPath } from "./routes";
import { JsonSchema, defaultOf, errorSchema, itemListSchema, itemSchema, valueSchema } from "./schemas";

export interface OpenApiOptions {
  apiKeyRequired: boolean;
  /** Every item operation needs a user pool ID token (`Authorization`). */
  signIn: boolean;
}

/** The document options of a stack's settings. */
export function documentOptionsOf(settings: Pick<Settings, "apiKeys" | "signIn">): OpenApiOptions {
  return { apiKeyRequired: settings.apiKeys.required, signIn: settings.signIn.mode === "cognito" };
}

export type OpenApiDocument = {
  openapi: string;
  info: Record<string, unknown>;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  [extension: string]: unknown;
};

export const API_TITLE = "Items API";
const API_KEY_SCHEME = "api_key";
/** The security scheme of the user pool's ID tokens; infra/apigateway-openapi.ts adds the authorizer. */
export const USER_POOL_SCHEME = "user_pool";
export const API_VERSION = "1.0.0";

/** Errors that tell the client when to retry (`Retry-After`). */
const RETRY_AFTER_ERRORS = Object.keys(RETRY_AFTER_SECONDS) as ErrorCode[];

/**
 * Errors any route can answer with: API Gateway's throttling, the function's own failures, and
 * the two API Gateway answers for a function that Lambda refuses or that fails (throttled,
 * throws, times out, answers no proxy result or one over 6 MB: INTEGRATION_FAILURE, 503 with
 * Retry-After) or that does not answer within the integration's 29 s (504, INTEGRATION_TIMEOUT),
 * which infra/apigateway-openapi.ts shapes into the envelope.
 */
const COMMON_ERRORS: ErrorCode[] = ["throttled", "internal_error", "unavailable", "gateway_timeout"];

/** The path and header parameters a route may name, by name (the query's are the table's: QUERY_PARAMETERS). */
const PARAMETERS: Record<ParameterName, Omit<JsonSchema, "name">> = {
  id: {
    in: "path",
    required: true,
    description: "The item's id, a UUID the server assigned. Any other value names no item: 404 not_found.",
    schema: { type: "string" },
  },
  "If-Match": {
    in: "header",
    required: false,
    description: `Only if the target's ETag is one of these entity tags, e.g. "3" (strong comparison; at most ${MAX_IF_MATCH_TAGS}, or 400); otherwise 412. * asks only that the target exists. The collection /items has no ETag: * holds, any tag fails. Evaluated before If-None-Match (RFC 9110 §13.2.2).`,
    schema: { type: "string" },
  },
  "If-None-Match": {
    in: "header",
    required: false,
    description: `Only if the target's ETag is none of these entity tags (weak comparison; at most ${MAX_IF_MATCH_TAGS}, or 400); * asks that the target does not exist, which /items and an existing item fail. Failed: GET and HEAD answer 304, other methods 412.`,
    schema: { type: "string" },
  },
  "Idempotency-Key": {
    in: "header",
    required: false,
    description:
      "1 to 128 printable ASCII characters without commas, on one header line (repeated lines or a list: 400); a retry with the same key and body within 24 h returns the first response, another body 422",
    schema: { type: "string", minLength: 1, maxLength: 128 },
  },
};

/** The query parameters the table gives an operation. */
function queryParametersOf(operationId: string): [string, ParameterSpec][] {
  return (Object.entries(QUERY_PARAMETERS) as [string, ParameterSpec][]).filter(([, spec]) =>
    spec.operations.includes(operationId),
  );
}

/** Every parameter of a route: its path and header parameters, then the query the table gives it. */
export function parametersOf(route: Route): Record<string, JsonSchema> {
  return Object.fromEntries([
    ...route.parameters.map((name) => [name, { name, ...PARAMETERS[name] }]),
    ...queryParametersOf(route.operationId).map(([name, spec]) => [
      name,
      {
        name,
        in: "query",
        required: false,
        description: spec.description,
        schema: { ...valueSchema(spec), ...defaultOf(spec) },
      },
    ]),
  ]);
}

const HEADERS: Record<string, JsonSchema> = {
  ETag: {
    description: 'The item\'s version as an entity tag, e.g. "3"',
    required: true,
    schema: { type: "string" },
  },
  Location: { description: "URL of the created item", required: true, schema: { type: "string", format: "uri" } },
  "x-request-id": {
    description: "Id of this request (API Gateway's extended request id), on every answer of the functions",
    schema: { type: "string" },
  },
  "x-amz-apigw-id": {
    required: true,
    description:
      "API Gateway's extended request id, on every response, API Gateway's own answers included; requestId in error bodies",
    schema: { type: "string" },
  },
  "Retry-After": { description: "Seconds to wait before retrying", schema: { type: "integer", minimum: 0 } },
};

/** Component name of a parameter: OpenAPI keys may not hold every header character. */
function parameterKey(name: string): string {
  return name.replace(/-/g, "");
}

function errorResponses(route: Route, options: OpenApiOptions): Record<string, unknown> {
  const codes = [
    ...route.errors,
    ...COMMON_ERRORS,
    ...(options.apiKeyRequired ? (["forbidden"] as const) : []),
    ...(options.signIn ? (["unauthorized"] as const) : []),
  ];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), code])]);
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, statusCodes]) => [
        String(status),
        {
          description: `Error: ${statusCodes.join(", ")}`,
          headers: {
            "x-amz-apigw-id": { $ref: "#/components/headers/x-amz-apigw-id" },
            "x-request-id": { $ref: "#/components/headers/x-request-id" },
            // 429: present when throttled, absent when an API key's daily quota is used up.
            ...(statusCodes.some((code) => RETRY_AFTER_ERRORS.includes(code))
              ? { "Retry-After": { $ref: "#/components/headers/Retry-After" } }
              : {}),
          },
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      ]),
  );
}

function operationOf(route: Route, options: OpenApiOptions): Record<string, unknown> {
  const successHeaders = Object.fromEntries(
    [...(route.success.headers ?? []), "x-request-id", "x-amz-apigw-id"].map((header) => [
      header,
      { $ref: `#/components/headers/${header}` },
    ]),
  );
  const responses: Record<string, unknown> = {
    [String(route.success.status)]: {
      description: route.success.description,
      headers: successHeaders,
      ...(route.success.body === undefined
        ? {}
        : { content: { "application/json": { schema: { $ref: `#/components/schemas/${route.success.body}` } } } }),
    },
    ...(route.parameters.includes("If-None-Match") && route.method === "GET"
      ? {
          "304": {
            description: "Not modified (If-None-Match)",
            headers:
              route.success.headers?.includes("ETag") === true ? { ETag: { $ref: "#/components/headers/ETag" } } : {},
          },
        }
      : {}),
    ...errorResponses(route, options),
  };
  return {
    operationId: route.operationId,
    // Per operation: API Gateway ignores root-level security (infra/apigateway-import.ts). One
    // requirement naming both schemes: the key and the token are both needed.
    ...(options.apiKeyRequired || options.signIn
      ? {
          security: [
            {
              ...(options.apiKeyRequired ? { [API_KEY_SCHEME]: [] } : {}),
              ...(options.signIn ? { [USER_POOL_SCHEME]: [] } : {}),
            },
          ],
        }
      : {}),
    summary: route.summary,
    description: route.description,
    tags: ["items"],
    parameters: Object.keys(parametersOf(route)).map((name) => ({
      $ref: `#/components/parameters/${parameterKey(name)}`,
    })),
    ...(route.requestSchema === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            description: `JSON in UTF-8 (a charset other than utf-8 gets 415), at most ${MAX_BODY_BYTES} bytes (413 beyond)`,
            content: Object.fromEntries(
              route.requestSchema.contentTypes.map((contentType) => [
                contentType,
                { schema: { $ref: `#/components/schemas/${route.requestSchema?.name}` } },
              ]),
            ),
          },
        }),
    responses,
  };
}

/** HEAD of a GET operation: its parameters, statuses and headers, no content (RFC 9110 §9.3.2). */
function headOperationOf(get: Record<string, unknown>, operationId: string): Record<string, unknown> {
  const responses = Object.fromEntries(
    Object.entries(get.responses as Record<string, Record<string, unknown>>).map(([status, response]) => {
      const { content: _content, ...headers } = response;
      return [status, headers];
    }),
  );
  return {
    ...get,
    operationId,
    summary: `${String(get.summary)} (headers only)`,
    description: `HEAD: the status and headers GET answers, without a body. ${String(get.description)}`,
    responses,
  };
}

export function buildOpenApiDocument(
  options: OpenApiOptions,
  routes: readonly Route[] = defaultRoutes,
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, pathRoutes] of routesByPath(routes)) {
    paths[path] = Object.fromEntries(
      pathRoutes.flatMap((route) => {
        const operation = operationOf(route, options);
        return methodsOf(route).map((method) => [
          method.toLowerCase(),
          method === route.method ? operation : headOperationOf(operation, operationIdOf(route, method)),
        ]);
      }),
    );
  }
  const requestSchemas = Object.fromEntries(
    routes.flatMap((route) =>
      route.requestSchema === undefined ? [] : [[route.requestSchema.name, route.requestSchema.schema]],
    ),
  );
  const usedParameters = Object.assign({}, ...routes.map(parametersOf)) as Record<string, JsonSchema>;
  const document: OpenApiDocument = {
    openapi: "3.0.3",
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        "CRUD for items. Errors everywhere use one envelope: " +
        '{"error":{"code","message","requestId"}}. Unknown routes answer 404 not_found, known paths with another ' +
        "method 405 method_not_allowed with Allow, and bodies over 64 KiB 413 payload_too_large.",
    },
    tags: [{ name: "items", description: "Items and their attributes" }],
    paths,
    components: {
      schemas: {
        Item: itemSchema,
        ItemList: itemListSchema,
        ...requestSchemas,
        Error: errorSchema,
      },
      parameters: Object.fromEntries(
        Object.entries(usedParameters).map(([name, parameter]) => [parameterKey(name), parameter]),
      ),
      headers: HEADERS,
      ...(options.apiKeyRequired || options.signIn
        ? {
            securitySchemes: {
              ...(options.apiKeyRequired
                ? { [API_KEY_SCHEME]: { type: "apiKey", name: API_KEY_HEADER, in: "header" } }
                : {}),
              ...(options.signIn
                ? {
                    [USER_POOL_SCHEME]: {
                      type: "apiKey",
                      name: "Authorization",
                      in: "header",
                      description:
                        "The ID token of a user signed in to the stack's Cognito user pool, as it is (no Bearer prefix). Every item belongs to the user who created it.",
                    },
                  }
                : {}),
            },
          }
        : {}),
    },
  };
  return document;
}
