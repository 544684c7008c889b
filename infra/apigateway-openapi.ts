/**
 * Pure: the public OpenAPI document (infra/openapi.ts) plus API Gateway's `x-amazon-apigateway-*`
 * extensions = the `body` of the REST API. Everything here is derived from the route table, so
 * the deployed API answers like the local runtime (local/gateway.ts):
 * - each operation: an `aws_proxy` integration to its function, and a body validator whose
 *   model is the route's draft-4 request schema (the very schema the local runtime validates);
 * - each path: an OPTIONS preflight and an `x-amazon-apigateway-any-method` answering 405 with
 *   `Allow` (explicit methods win over ANY); neither needs an API key, as locally, where both
 *   are answered before the key check;
 * - every gateway response API Gateway can send rewritten into the error envelope, with CORS.
 */
import type { ErrorCode } from "../handlers/errors";
import { corsHeaders } from "../handlers/http";
import { ERROR_STATUS, OpenApiDocument } from "./openapi";
import { Route, routesByPath } from "./routes";
import type { JsonSchema } from "./schemas";

export interface ApiGatewayDocumentInputs {
  /** The public document (`buildOpenApiDocument`), left untouched. */
  document: OpenApiDocument;
  routes: readonly Route[];
  /** Lambda invoke ARN (`function.invokeArn`) by operationId. */
  invokeArns: Record<string, string>;
  corsAllowedOrigins: string[];
  apiKeyRequired: boolean;
}

/** Request headers a browser may send cross-origin; the preflight allows exactly these. */
export const CORS_ALLOWED_HEADERS =
  "Content-Type, If-Match, If-None-Match, Idempotency-Key, x-api-key, x-correlation-id";
export const CORS_MAX_AGE_SECONDS = 600;
/** Headers every response API Gateway makes itself carries, as the handlers' responses do. */
export const GATEWAY_STATIC_HEADERS: Record<string, string> = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};
/** API Gateway's own ceiling for an integration (REST APIs): 29 s. */
export const INTEGRATION_TIMEOUT_MS = 29000;
export const BODY_VALIDATOR = "body";

/** `Access-Control-Expose-Headers` exactly as the handlers send it. */
const EXPOSED_HEADERS = corsHeaders(["*"], undefined)["Access-Control-Expose-Headers"] ?? "";

interface GatewayResponseSpec {
  /** Undefined: keep the status API Gateway chose (the DEFAULT_* fallbacks). */
  status?: number;
  code: ErrorCode;
  /** A JSON value as template text: a quoted string, or `$context.error.messageString` (already quoted). */
  message: string;
  headers?: Record<string, string>;
}

const CONTEXT_MESSAGE = "$context.error.messageString";
const quoted = (text: string): string => JSON.stringify(text);

/**
 * Every gateway response type, mapped onto the API's error codes. Gateway response templates
 * are not VTL: only `$context` variables are substituted. 5xx messages never echo API Gateway's.
 */
export const GATEWAY_RESPONSES: Record<string, GatewayResponseSpec> = {
  // Only reached by types not listed below; the one 4xx that might be is a missing API key.
  DEFAULT_4XX: { code: "forbidden", message: CONTEXT_MESSAGE },
  DEFAULT_5XX: { code: "internal_error", message: quoted("internal error") },
  ACCESS_DENIED: { status: 403, code: "forbidden", message: CONTEXT_MESSAGE },
  API_CONFIGURATION_ERROR: { status: 500, code: "internal_error", message: quoted("internal error") },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, code: "internal_error", message: quoted("internal error") },
  AUTHORIZER_FAILURE: { status: 500, code: "internal_error", message: quoted("internal error") },
  BAD_REQUEST_PARAMETERS: { status: 400, code: "validation_failed", message: CONTEXT_MESSAGE },
  BAD_REQUEST_BODY: {
    status: 400,
    code: "validation_failed",
    message: quoted("request body does not match the model: $context.error.validationErrorString"),
  },
  EXPIRED_TOKEN: { status: 403, code: "forbidden", message: CONTEXT_MESSAGE },
  // An integration that failed (e.g. a malformed Lambda response): the local runtime's 502.
  INTEGRATION_FAILURE: { status: 502, code: "bad_gateway", message: quoted("Internal server error") },
  INTEGRATION_TIMEOUT: { status: 504, code: "gateway_timeout", message: quoted("Endpoint request timed out") },
  INVALID_API_KEY: { status: 403, code: "forbidden", message: quoted("Forbidden") },
  INVALID_SIGNATURE: { status: 403, code: "forbidden", message: CONTEXT_MESSAGE },
  // No resource matches the path: 404, not API Gateway's 403 "Missing Authentication Token".
  MISSING_AUTHENTICATION_TOKEN: {
    status: 404,
    code: "not_found",
    message: quoted("no route matches this method and path"),
  },
  QUOTA_EXCEEDED: { status: 429, code: "throttled", message: quoted("the API key's daily quota is used up") },
  REQUEST_TOO_LARGE: {
    status: 413,
    code: "payload_too_large",
    message: quoted("the request is larger than API Gateway's 10 MB limit"),
  },
  RESOURCE_NOT_FOUND: { status: 404, code: "not_found", message: quoted("no route matches this method and path") },
  THROTTLED: { status: 429, code: "throttled", message: quoted("Too Many Requests"), headers: { "Retry-After": "1" } },
  // No authorizers here; answer like a refused key, as the local runtime does.
  UNAUTHORIZED: { status: 403, code: "forbidden", message: CONTEXT_MESSAGE },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: "unsupported_media_type", message: CONTEXT_MESSAGE },
  WAF_FILTERED: { status: 403, code: "forbidden", message: CONTEXT_MESSAGE },
};

type CorsMode = { kind: "off" } | { kind: "any" } | { kind: "list"; origins: string[] };

function corsModeOf(origins: string[]): CorsMode {
  if (origins.length === 0) {
    return { kind: "off" };
  }
  return origins.includes("*") ? { kind: "any" } : { kind: "list", origins };
}

const staticValue = (value: string): string => `'${value}'`;

/** CORS headers of a gateway response (static or request values only; no conditions possible). */
export function gatewayResponseCorsHeaders(origins: string[]): Record<string, string> {
  const mode = corsModeOf(origins);
  if (mode.kind === "off") {
    return {};
  }
  if (mode.kind === "any") {
    return {
      "Access-Control-Allow-Origin": staticValue("*"),
      "Access-Control-Expose-Headers": staticValue(EXPOSED_HEADERS),
    };
  }
  // One origin: name it (a browser on any other origin sees a mismatch, as with no header).
  // Several: gateway responses cannot choose among them, so echo the caller's Origin; these
  // bodies are error envelopes only, and the handlers' own responses honour the list exactly.
  const [only] = mode.origins;
  return {
    "Access-Control-Allow-Origin":
      mode.origins.length === 1 && only !== undefined ? staticValue(only) : "method.request.header.Origin",
    "Access-Control-Expose-Headers": staticValue(EXPOSED_HEADERS),
    Vary: staticValue("Origin"),
  };
}

export function gatewayResponses(origins: string[]): Record<string, unknown> {
  const cors = gatewayResponseCorsHeaders(origins);
  return Object.fromEntries(
    Object.entries(GATEWAY_RESPONSES).map(([type, spec]) => {
      const headers: Record<string, string> = {
        ...Object.fromEntries(
          Object.entries(GATEWAY_STATIC_HEADERS).map(([name, value]) => [name, staticValue(value)]),
        ),
        ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, value]) => [name, staticValue(value)])),
        ...cors,
      };
      return [
        type,
        {
          ...(spec.status === undefined ? {} : { statusCode: String(spec.status) }),
          responseParameters: Object.fromEntries(
            Object.entries(headers).map(([name, value]) => [`gatewayresponse.header.${name}`, value]),
          ),
          responseTemplates: {
            "application/json": `{"error":{"code":"${spec.code}","message":${spec.message},"requestId":"$context.requestId"}}`,
          },
        },
      ];
    }),
  );
}

/**
 * VTL for a mock integration response: when the caller's Origin is on the list, add these CORS
 * headers (exactly the handlers' `corsHeaders` rule); otherwise add none.
 */
function corsOverrideTemplate(origins: string[], headers: Record<string, string>): string {
  const condition = origins.map((origin) => `$origin == "${origin}"`).join(" || ");
  const sets = Object.entries(headers)
    .map(
      ([name, value]) =>
        `#set($context.responseOverride.header.${name} = ${value === "$origin" ? "$origin" : `"${value}"`})`,
    )
    .join("\n");
  return [
    `#set($origin = $input.params().header.get("Origin"))`,
    `#if("$!origin" == "")#set($origin = $input.params().header.get("origin"))#end`,
    `#if(${condition})`,
    sets,
    `#end`,
  ].join("\n");
}

interface MockResponse {
  status: number;
  /** Static headers (unquoted values) and request-derived ones (mapping expressions). */
  headers: Record<string, string>;
  mappedHeaders: Record<string, string>;
  /** CORS headers when the origin is allowed; values may be `$origin`. */
  corsHeaders: Record<string, string>;
  body: string;
  schemaRef?: string;
}

function mockOperation(description: string, response: MockResponse, origins: string[]): Record<string, unknown> {
  const mode = corsModeOf(origins);
  const staticCors =
    mode.kind === "any"
      ? Object.fromEntries(
          Object.entries(response.corsHeaders).map(([name, value]) => [name, value === "$origin" ? "*" : value]),
        )
      : {};
  const overriddenCors = mode.kind === "list" ? response.corsHeaders : {};
  const staticHeaders = { ...response.headers, ...staticCors };
  const declared = [
    ...Object.keys(response.mappedHeaders),
    ...Object.keys(staticHeaders),
    ...Object.keys(overriddenCors),
  ];
  const template = [mode.kind === "list" ? corsOverrideTemplate(mode.origins, overriddenCors) : "", response.body]
    .filter((part) => part !== "")
    .join("\n");
  return {
    summary: description,
    description,
    // Answered before (and without) the API-key check, as the local runtime does.
    security: [],
    responses: {
      [String(response.status)]: {
        description,
        headers: Object.fromEntries(declared.map((name) => [name, { schema: { type: "string" } }])),
        ...(response.schemaRef === undefined
          ? {}
          : { content: { "application/json": { schema: { $ref: response.schemaRef } } } }),
      },
    },
    "x-amazon-apigateway-integration": {
      type: "mock",
      passthroughBehavior: "when_no_match",
      requestTemplates: { "application/json": `{"statusCode": ${response.status}}` },
      responses: {
        default: {
          statusCode: String(response.status),
          responseParameters: {
            ...Object.fromEntries(
              Object.entries(response.mappedHeaders).map(([name, source]) => [
                `method.response.header.${name}`,
                source,
              ]),
            ),
            ...Object.fromEntries(
              Object.entries(staticHeaders).map(([name, value]) => [
                `method.response.header.${name}`,
                staticValue(value),
              ]),
            ),
          },
          responseTemplates: { "application/json": template },
        },
      },
    },
  };
}

/** `OPTIONS` on a path: the CORS preflight, 204, as `preflight` in local/gateway.ts. */
export function preflightOperation(pathRoutes: readonly Route[], origins: string[]): Record<string, unknown> {
  const methods = [...pathRoutes.map((route) => route.method), "OPTIONS"].join(", ");
  return mockOperation(
    "CORS preflight",
    {
      status: 204,
      headers: { ...GATEWAY_STATIC_HEADERS },
      mappedHeaders: { "x-request-id": "context.requestId" },
      corsHeaders: {
        "Access-Control-Allow-Origin": "$origin",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        ...(corsModeOf(origins).kind === "list" ? { Vary: "Origin" } : {}),
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
        "Access-Control-Max-Age": String(CORS_MAX_AGE_SECONDS),
      },
      body: "",
    },
    origins,
  );
}

/** Any other method on a known path: 405 `method_not_allowed` with `Allow`. */
export function methodNotAllowedOperation(pathRoutes: readonly Route[], origins: string[]): Record<string, unknown> {
  const allow = pathRoutes.map((route) => route.method).join(", ");
  return mockOperation(
    "Any other method: 405 method_not_allowed",
    {
      status: ERROR_STATUS.method_not_allowed,
      headers: { Allow: allow, ...GATEWAY_STATIC_HEADERS },
      mappedHeaders: { "x-request-id": "context.requestId" },
      corsHeaders: {
        "Access-Control-Allow-Origin": "$origin",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        ...(corsModeOf(origins).kind === "list" ? { Vary: "Origin" } : {}),
      },
      body:
        `{"error":{"code":"method_not_allowed","message":"$context.httpMethod is not allowed on $context.resourcePath",` +
        `"requestId":"$context.requestId"}}`,
      schemaRef: "#/components/schemas/Error",
    },
    origins,
  );
}

/** Keywords API Gateway models do not support (import warnings); they only document responses. */
const UNSUPPORTED_MODEL_KEYWORDS = new Set(["example", "readOnly"]);

function toModel(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    return schema.map(toModel);
  }
  if (typeof schema !== "object" || schema === null) {
    return schema;
  }
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !UNSUPPORTED_MODEL_KEYWORDS.has(key))
      .map(([key, value]) => [
        key,
        key === "properties" || key === "patternProperties" ? mapValues(value, toModel) : toModel(value),
      ]),
  );
}

function mapValues(value: unknown, map: (member: unknown) => unknown): unknown {
  if (typeof value !== "object" || value === null) {
    return value;
  }
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, map(member)]));
}

/** Draft-4 request schema as an API Gateway model (the `$schema` URI is implied). */
function requestModel(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...model } = schema;
  return model;
}

/** Replaces `$ref`s to `components.parameters` and `components.headers` by their targets. */
function inlineRefs(value: unknown, components: Record<string, Record<string, unknown>>): unknown {
  if (Array.isArray(value)) {
    return value.map((member) => inlineRefs(member, components));
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === "string") {
    const match = /^#\/components\/(parameters|headers)\/(.+)$/.exec(ref);
    if (match?.[1] !== undefined && match[2] !== undefined) {
      const target = components[match[1]]?.[match[2]];
      if (target === undefined) {
        throw new Error(`unresolved reference ${ref}`);
      }
      return inlineRefs(target, components);
    }
  }
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, inlineRefs(member, components)]));
}

export function apiGatewayDocument(inputs: ApiGatewayDocumentInputs): OpenApiDocument {
  const source = structuredClone(inputs.document);
  const { parameters: _parameters, headers: _headers, schemas, ...otherComponents } = source.components;
  // API Gateway's import resolves model references only; parameters and headers go inline.
  const paths = inlineRefs(source.paths, source.components) as OpenApiDocument["paths"];

  for (const [path, pathRoutes] of routesByPath(inputs.routes)) {
    const pathItem = paths[path];
    if (pathItem === undefined) {
      throw new Error(`the document has no path ${path}`);
    }
    for (const route of pathRoutes) {
      const operation = pathItem[route.method.toLowerCase()] as Record<string, unknown> | undefined;
      const uri = inputs.invokeArns[route.operationId];
      if (operation === undefined || uri === undefined) {
        throw new Error(`no operation or function for ${route.operationId}`);
      }
      operation["x-amazon-apigateway-integration"] = {
        type: "aws_proxy",
        httpMethod: "POST",
        uri,
        passthroughBehavior: "when_no_match",
        timeoutInMillis: INTEGRATION_TIMEOUT_MS,
      };
      if (route.requestSchema !== undefined) {
        operation["x-amazon-apigateway-request-validator"] = BODY_VALIDATOR;
      }
    }
    pathItem.options = preflightOperation(pathRoutes, inputs.corsAllowedOrigins);
    pathItem["x-amazon-apigateway-any-method"] = methodNotAllowedOperation(pathRoutes, inputs.corsAllowedOrigins);
  }

  const models = Object.fromEntries(Object.entries(schemas ?? {}).map(([name, schema]) => [name, toModel(schema)]));
  for (const route of inputs.routes) {
    if (route.requestSchema !== undefined) {
      // The draft-4 schema itself, not the OpenAPI 3.0 rendering: API Gateway models are draft 4
      // (nullable and x-patternProperties would be ignored), and the local runtime validates
      // with this same schema.
      models[route.requestSchema.name] = requestModel(route.requestSchema.schema);
    }
  }

  return {
    ...source,
    paths,
    components: { ...otherComponents, schemas: models },
    "x-amazon-apigateway-request-validators": {
      [BODY_VALIDATOR]: { validateRequestBody: true, validateRequestParameters: false },
    },
    "x-amazon-apigateway-gateway-responses": gatewayResponses(inputs.corsAllowedOrigins),
    ...(inputs.apiKeyRequired ? { "x-amazon-apigateway-api-key-source": "HEADER" } : {}),
  };
}

/** `/items/{id}` -> `/items/*`: the resource part of a Lambda permission's source ARN. */
export function permissionPath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "*");
}
