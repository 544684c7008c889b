/**
 * Pure: the public OpenAPI document (infra/openapi.ts) plus API Gateway's `x-amazon-apigateway-*`
 * extensions = the `body` of the REST API. The local runtime serves this very body through its
 * interpreter (local/gateway.ts), and infra/apigateway-import.ts checks it under AWS's import
 * rules, so nothing here may rely on what API Gateway ignores or drops:
 * - each operation: an `aws_proxy` integration to its function, a body validator whose models
 *   are the routes' request schemas (written in what OpenAPI 3.0 and draft 4 share), and
 *   `security` where the stack requires keys (API Gateway ignores root-level security);
 * - each path: an OPTIONS preflight and an `x-amazon-apigateway-any-method` answering 405 with
 *   `Allow` (explicit methods win over ANY); neither needs an API key;
 * - every gateway response API Gateway lets us shape, rewritten into the error envelope, with CORS;
 *   its templates hold only variables that cannot break the JSON.
 */
import { CodeWithMessage, ERROR_MESSAGES, ERROR_STATUS, ErrorCode, RETRY_AFTER_SECONDS } from "../handlers/errors";
import {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  CORS_MAX_AGE_SECONDS,
  SECURITY_HEADERS,
  WWW_AUTHENTICATE,
} from "../handlers/headers";
import { INTEGRATION_TIMEOUT_RANGE_MS } from "./apigateway-import";
import type { Settings } from "./config";
import { OpenApiDocument, USER_POOL_SCHEME, buildOpenApiDocument, documentOptionsOf } from "./openapi";
import { Route, allowedMethods, methodsOf, operationIdOf, routesByPath } from "./routes";

export interface ApiGatewayDocumentInputs {
  /** The public document (`buildOpenApiDocument`), left untouched. */
  document: OpenApiDocument;
  routes: readonly Route[];
  /** Lambda invoke ARN (`function.invokeArn`) by operationId. */
  invokeArns: Record<string, string>;
  corsAllowedOrigins: readonly string[];
  apiKeyRequired: boolean;
  /** With sign-in: the ARN of the user pool whose ID tokens the authorizer accepts. */
  userPoolArn?: string;
}

/** Every integration gets API Gateway's longest timeout; the functions' own are shorter. */
export const INTEGRATION_TIMEOUT_MS = INTEGRATION_TIMEOUT_RANGE_MS.max;
export const BODY_VALIDATOR = "body";

/** A gateway response: its code's status (ERROR_STATUS), and its message unless the code has its own. */
type GatewayResponseSpec = ({ code: CodeWithMessage; message?: string } | { code: ErrorCode; message: string }) & {
  headers?: Record<string, string>;
  /** Keep the status API Gateway chose (the DEFAULT_* fallbacks) instead of the code's. */
  keepsGatewayStatus?: true;
};

/**
 * Every gateway response type API Gateway lets us customize, mapped onto the API's error codes.
 * Messages are fixed: a template substitutes `$context` variables unescaped, and API Gateway's
 * own messages (`$context.error.message`) can echo request text. REQUEST_TOO_LARGE is absent on
 * purpose: API Gateway does not let it be customized (see infra/apigateway-import.ts).
 */
export const GATEWAY_RESPONSES: Record<string, GatewayResponseSpec> = {
  // Only reached by types not listed below.
  DEFAULT_4XX: { code: "forbidden", message: "the request was refused", keepsGatewayStatus: true },
  DEFAULT_5XX: { code: "internal_error", keepsGatewayStatus: true },
  ACCESS_DENIED: { code: "forbidden", message: "access denied" },
  API_CONFIGURATION_ERROR: { code: "internal_error" },
  AUTHORIZER_CONFIGURATION_ERROR: { code: "internal_error" },
  AUTHORIZER_FAILURE: { code: "internal_error" },
  BAD_REQUEST_PARAMETERS: {
    code: "validation_failed",
    message: "a required request parameter is missing",
  },
  BAD_REQUEST_BODY: {
    code: "validation_failed",
    message: "the request body is not JSON or does not match the operation's request schema (see /openapi.json)",
  },
  // An expired AWS signature (SigV4), not an expired ID token (that one is UNAUTHORIZED).
  EXPIRED_TOKEN: { code: "forbidden", message: "the request signature has expired" },
  // Lambda refused the invocation (throttled: the function's or the account's concurrency), or
  // the function failed (threw, ran past its timeout, answered no proxy result or one over 6 MB).
  // API Gateway gives all of these this one response (infra/apigateway-import.ts,
  // INVOKE_REJECTED_STATUS): 503 with Retry-After, because the common cause in production is
  // throttling, which a retry after a pause gets through; a failing function also raises the
  // Lambda errors alarm. A fixed 502 would make a throttled function look broken.
  INTEGRATION_FAILURE: {
    code: "unavailable",
    message: "the function could not answer (throttled or failed); retry later",
    headers: { "Retry-After": String(RETRY_AFTER_SECONDS.unavailable) },
  },
  INTEGRATION_TIMEOUT: { code: "gateway_timeout", message: "the function did not answer in time" },
  INVALID_API_KEY: { code: "forbidden", message: "a valid API key is required in x-api-key" },
  INVALID_SIGNATURE: { code: "forbidden", message: "the request signature is invalid" },
  // No resource or method matches: 404, not API Gateway's 403 "Missing Authentication Token".
  MISSING_AUTHENTICATION_TOKEN: { code: "not_found", message: "no route matches this method and path" },
  // No Retry-After: a used-up quota does not come back in RETRY_AFTER_SECONDS.
  QUOTA_EXCEEDED: { code: "throttled", message: "the API key's daily quota is used up" },
  RESOURCE_NOT_FOUND: { code: "not_found", message: "no route matches this method and path" },
  THROTTLED: {
    code: "throttled",
    message: "too many requests",
    headers: { "Retry-After": String(RETRY_AFTER_SECONDS.throttled) },
  },
  // The Cognito authorizer found no valid ID token: missing, expired, forged, another pool's.
  UNAUTHORIZED: {
    code: "unauthorized",
    headers: { "WWW-Authenticate": WWW_AUTHENTICATE },
  },
  UNSUPPORTED_MEDIA_TYPE: {
    code: "unsupported_media_type",
    message: "this method accepts no body of this media type",
  },
  WAF_FILTERED: { code: "forbidden", message: "the request was blocked" },
};

/**
 * The envelope of a gateway response. The request id is API Gateway's extended request id: it
 * generates it from a base64 alphabet and no caller can set it, so it cannot break the JSON; it
 * is also the `x-amz-apigw-id` header of the response.
 */
function envelopeTemplate(spec: GatewayResponseSpec): string {
  const { message = ERROR_MESSAGES[spec.code as CodeWithMessage] } = spec;
  return JSON.stringify({ error: { code: spec.code, message, requestId: "$context.extendedRequestId" } });
}

/**
 * Media types the mock integrations (preflight, 405) take a request template for. They never
 * pass a body through: a mock answers only what its template selects, and any other media type
 * gets UNSUPPORTED_MEDIA_TYPE (API Gateway's "Integration passthrough behaviors").
 */
const MOCK_MEDIA_TYPES = [
  "application/json",
  "application/merge-patch+json",
  "application/x-www-form-urlencoded",
  "application/xml",
  "application/octet-stream",
  "multipart/form-data",
  "text/plain",
];

type CorsMode = { kind: "off" } | { kind: "any" } | { kind: "list"; origins: readonly string[] };

function corsModeOf(origins: readonly string[]): CorsMode {
  if (origins.length === 0) {
    return { kind: "off" };
  }
  return origins.includes("*") ? { kind: "any" } : { kind: "list", origins };
}

const staticValue = (value: string): string => `'${value}'`;

/** CORS headers of a gateway response (static or request values only; no conditions possible). */
export function gatewayResponseCorsHeaders(origins: readonly string[]): Record<string, string> {
  const mode = corsModeOf(origins);
  if (mode.kind === "off") {
    return {};
  }
  if (mode.kind === "any") {
    return {
      "Access-Control-Allow-Origin": staticValue("*"),
      "Access-Control-Expose-Headers": staticValue(CORS_EXPOSED_HEADERS),
    };
  }
  // One origin: name it (a browser on any other origin sees a mismatch, as with no header).
  // Several: gateway responses cannot choose among them, so echo the caller's Origin; these
  // bodies are error envelopes only, and the handlers' own responses honour the list exactly.
  const [only] = mode.origins;
  return {
    "Access-Control-Allow-Origin":
      mode.origins.length === 1 && only !== undefined ? staticValue(only) : "method.request.header.Origin",
    "Access-Control-Expose-Headers": staticValue(CORS_EXPOSED_HEADERS),
    Vary: staticValue("Origin"),
  };
}

export function gatewayResponses(origins: readonly string[]): Record<string, unknown> {
  const cors = gatewayResponseCorsHeaders(origins);
  return Object.fromEntries(
    Object.entries(GATEWAY_RESPONSES).map(([type, spec]) => {
      const headers: Record<string, string> = {
        ...Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([name, value]) => [name, staticValue(value)])),
        ...Object.fromEntries(Object.entries(spec.headers ?? {}).map(([name, value]) => [name, staticValue(value)])),
        ...cors,
      };
      return [
        type,
        {
          ...(spec.keepsGatewayStatus ? {} : { statusCode: String(ERROR_STATUS[spec.code]) }),
          responseParameters: Object.fromEntries(
            Object.entries(headers).map(([name, value]) => [`gatewayresponse.header.${name}`, value]),
          ),
          responseTemplates: { "application/json": envelopeTemplate(spec) },
        },
      ];
    }),
  );
}

/**
 * VTL for a mock integration response: when the caller's Origin is on the list, add these CORS
 * headers (exactly the handlers' `corsHeaders` rule); otherwise add none. Header names reach
 * `$input.params().header` in the client's casing, hence both spellings.
 */
function corsOverrideTemplate(origins: readonly string[], headers: Record<string, string>): string {
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
  /** Static headers (unquoted values). */
  headers: Record<string, string>;
  /** CORS headers when the origin is allowed; values may be `$origin`. */
  corsHeaders: Record<string, string>;
  body: string;
  schemaRef?: string;
}

function mockOperation(
  description: string,
  response: MockResponse,
  origins: readonly string[],
): Record<string, unknown> {
  const mode = corsModeOf(origins);
  const staticCors =
    mode.kind === "any"
      ? Object.fromEntries(
          Object.entries(response.corsHeaders).map(([name, value]) => [name, value === "$origin" ? "*" : value]),
        )
      : {};
  const overriddenCors = mode.kind === "list" ? response.corsHeaders : {};
  const staticHeaders = { ...response.headers, ...staticCors };
  // The request id: API Gateway's extended id, as in the handlers' responses and gateway responses.
  const mappedHeaders = { "x-request-id": "context.extendedRequestId" };
  const declared = [...Object.keys(mappedHeaders), ...Object.keys(staticHeaders), ...Object.keys(overriddenCors)];
  const template = [mode.kind === "list" ? corsOverrideTemplate(mode.origins, overriddenCors) : "", response.body]
    .filter((part) => part !== "")
    .join("\n");
  return {
    summary: description,
    description,
    // Answered without an API key: a browser's preflight carries none.
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
      passthroughBehavior: "never",
      requestTemplates: Object.fromEntries(
        MOCK_MEDIA_TYPES.map((mediaType) => [mediaType, `{"statusCode": ${response.status}}`]),
      ),
      responses: {
        default: {
          statusCode: String(response.status),
          responseParameters: {
            ...Object.fromEntries(
              Object.entries(mappedHeaders).map(([name, source]) => [`method.response.header.${name}`, source]),
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

/** `OPTIONS` on a path: the CORS preflight, 204. */
export function preflightOperation(pathRoutes: readonly Route[], origins: readonly string[]): Record<string, unknown> {
  const methods = allowedMethods(pathRoutes).join(", ");
  return mockOperation(
    "CORS preflight",
    {
      status: 204,
      headers: { ...SECURITY_HEADERS },
      corsHeaders: {
        "Access-Control-Allow-Origin": "$origin",
        "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
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
export function methodNotAllowedOperation(
  pathRoutes: readonly Route[],
  origins: readonly string[],
): Record<string, unknown> {
  const allow = allowedMethods(pathRoutes).join(", ");
  const status = ERROR_STATUS.method_not_allowed;
  return mockOperation(
    `Any other method: ${status} method_not_allowed`,
    {
      status,
      headers: { Allow: allow, ...SECURITY_HEADERS },
      corsHeaders: {
        "Access-Control-Allow-Origin": "$origin",
        "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
        ...(corsModeOf(origins).kind === "list" ? { Vary: "Origin" } : {}),
      },
      // VTL: the values are escaped, whatever they hold.
      body:
        `{"error":{"code":"method_not_allowed","message":"$util.escapeJavaScript($context.httpMethod) is not allowed on $util.escapeJavaScript($context.resourcePath)",` +
        `"requestId":"$util.escapeJavaScript($context.extendedRequestId)"}}`,
      schemaRef: "#/components/schemas/Error",
    },
    origins,
  );
}

/**
 * Keywords that only annotate (examples, read-only markers, defaults): API Gateway does not
 * support them in models, and no validator reads them, so the body leaves them out. Any other
 * keyword stays, and infra/apigateway-import.ts refuses what API Gateway would drop.
 */
const ANNOTATION_KEYWORDS = new Set(["example", "readOnly", "default"]);

export function withoutAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    return schema.map(withoutAnnotations);
  }
  if (typeof schema !== "object" || schema === null) {
    return schema;
  }
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !ANNOTATION_KEYWORDS.has(key))
      .map(([key, value]) => [
        key,
        key === "properties" ? mapValues(value, withoutAnnotations) : withoutAnnotations(value),
      ]),
  );
}

function mapValues(value: unknown, map: (member: unknown) => unknown): unknown {
  if (typeof value !== "object" || value === null) {
    return value;
  }
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, map(member)]));
}

/**
 * API Gateway reads only `name`, `in`, `required`, `type` and `description` of a parameter
 * ("Amazon API Gateway important notes for REST APIs"); the rest is documentation.
 */
function importedParameter(parameter: unknown): unknown {
  if (typeof parameter !== "object" || parameter === null) {
    return parameter;
  }
  const { name, in: location, required, description, schema } = parameter as Record<string, unknown>;
  const type = typeof schema === "object" && schema !== null ? (schema as { type?: unknown }).type : undefined;
  return { name, in: location, required, description, ...(type === undefined ? {} : { schema: { type } }) };
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
      const inlined = inlineRefs(target, components);
      return match[1] === "parameters" ? importedParameter(inlined) : withoutAnnotations(inlined);
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
    for (const [route, method] of pathRoutes.flatMap((route) =>
      methodsOf(route).map((method) => [route, method] as const),
    )) {
      const operation = pathItem[method.toLowerCase()] as Record<string, unknown> | undefined;
      const uri = inputs.invokeArns[route.operationId];
      if (operation === undefined || uri === undefined) {
        throw new Error(`no operation or function for ${operationIdOf(route, method)}`);
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

  const models = Object.fromEntries(
    Object.entries(schemas ?? {}).map(([name, schema]) => [name, withoutAnnotations(schema)]),
  );
  return {
    ...source,
    paths,
    components: withUserPoolAuthorizer({ ...otherComponents, schemas: models }, inputs.userPoolArn),
    "x-amazon-apigateway-request-validators": {
      [BODY_VALIDATOR]: { validateRequestBody: true, validateRequestParameters: false },
    },
    "x-amazon-apigateway-gateway-responses": gatewayResponses(inputs.corsAllowedOrigins),
    ...(inputs.apiKeyRequired ? { "x-amazon-apigateway-api-key-source": "HEADER" } : {}),
  };
}

/**
 * The user pool scheme as API Gateway's importer reads it: a `cognito_user_pools` authorizer
 * trusting the pool, its token from the `Authorization` header (the scheme's `name`; see
 * infra/apigateway-import.ts for the rules this relies on).
 */
function withUserPoolAuthorizer(
  components: OpenApiDocument["components"],
  userPoolArn: string | undefined,
): OpenApiDocument["components"] {
  const schemes = components.securitySchemes as Record<string, Record<string, unknown>> | undefined;
  const scheme = schemes?.[USER_POOL_SCHEME];
  if (scheme === undefined) {
    return components;
  }
  if (userPoolArn === undefined) {
    throw new Error("the document requires sign-in, but no user pool ARN was given for its authorizer");
  }
  const { description: _description, ...imported } = scheme;
  return {
    ...components,
    securitySchemes: {
      ...schemes,
      [USER_POOL_SCHEME]: {
        ...imported,
        "x-amazon-apigateway-authtype": "cognito_user_pools",
        "x-amazon-apigateway-authorizer": { type: "cognito_user_pools", providerARNs: [userPoolArn] },
      },
    },
  };
}

/**
 * The REST API body of a stack: its public document with API Gateway's extensions. The stack
 * deploys it (infra/api.ts) and the local runtime serves it, each with its own invoke ARNs.
 */
export function restApiBody(
  settings: Pick<Settings, "corsAllowedOrigins" | "apiKeys" | "signIn">,
  routes: readonly Route[],
  invokeArns: Record<string, string>,
  userPoolArn?: string,
): OpenApiDocument {
  return apiGatewayDocument({
    document: buildOpenApiDocument(documentOptionsOf(settings), routes),
    routes,
    invokeArns,
    corsAllowedOrigins: settings.corsAllowedOrigins,
    apiKeyRequired: settings.apiKeys.required,
    userPoolArn,
  });
}

/** A Lambda function's invoke ARN, the URI of its API Gateway integration. */
export function lambdaInvokeArn(region: string, functionArn: string): string {
  return `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
}

/** `/items/{id}` -> `/items/*`: the resource part of a Lambda permission's source ARN. */
export function permissionPath(path: string): string {
  return path.replace(/\{[^}]+\}/g, "*");
}
