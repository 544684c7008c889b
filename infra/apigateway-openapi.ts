/**
 * Pure: the public OpenAPI document (infra/openapi.ts) plus API Gateway's `x-amazon-apigateway-*`
 * extensions = the `body` of the REST API. The local runtime serves this very body through its
 * interpreter (local/gateway.ts), and infra/apigateway-import.ts checks it under AWS's import
 * rules, so nothing here may rely on what API Gateway ignores or drops:
 * - each operation: an `aws_proxy` integration to its function, a body validator whose models
 *   are the routes' request schemas as `gatewayModelOf` leaves them, and
 *   `security` where the stack requires keys (API Gateway ignores root-level security);
 * - each path: an OPTIONS preflight and an `x-amazon-apigateway-any-method` answering 405 with
 *   `Allow` (explicit methods win over ANY); neither needs an API key;
 * - every gateway response API Gateway lets us shape, rewritten into the error envelope, with CORS;
 *   its templates hold only variables that cannot break the JSON.
 */
import {
  CodeWithMessage,
  ERROR_MESSAGES,
  ERROR_STATUS,
  ErrorCode,
  ErrorEnvelope,
  RETRY_AFTER_SECONDS,
} from "../handlers/errors";
import {
  CORRELATION_ID_HEADER,
  CORS_MAX_AGE_SECONDS,
  SECURITY_HEADERS,
  WWW_AUTHENTICATE,
  corsHeaders,
} from "../handlers/headers";
import { API_KEY_HEADER, INTEGRATION_TIMEOUT_RANGE_MS } from "./apigateway-import";
import type { Settings } from "./config";
import { OpenApiDocument, USER_POOL_SCHEME, buildOpenApiDocument, documentOptionsOf, parametersOf } from "./openapi";
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
    message:
      "the request body is not JSON or does not match the operation's request schema (see openapi.json at the API's base URL)",
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
  const envelope = { error: { code: spec.code, message, requestId: "$context.extendedRequestId" } };
  return JSON.stringify(envelope satisfies ErrorEnvelope);
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

/** The caller's origin in a mock integration's VTL (`corsOverrideTemplate` sets it). */
const VTL_ORIGIN = "$origin";

/**
 * THE CORS rule's headers for a caller the stack allows, `origin` standing for the caller's
 * origin where the rule echoes it (a stack that lists origins) and `*` being used where it does not.
 */
function allowedCallerHeaders(mode: CorsMode, origin: string): Record<string, string> {
  return mode.kind === "any" ? corsHeaders(["*"], undefined) : corsHeaders([origin], origin);
}

/**
 * Request headers a browser may send cross-origin, for the preflight: the header of the user pool
 * scheme where the stack signs users in (the token), Content-Type where a route takes a body,
 * every header parameter of the route table, the API key and the correlation id.
 */
export function corsAllowedHeaders(routes: readonly Route[], tokenHeader?: string): string {
  const parameters = routes.flatMap((route) =>
    Object.values(parametersOf(route))
      .filter((parameter) => parameter.in === "header")
      .map((parameter) => String(parameter.name)),
  );
  return [
    ...(tokenHeader === undefined ? [] : [tokenHeader]),
    ...(routes.some((route) => route.requestSchema !== undefined) ? ["Content-Type"] : []),
    ...[...new Set(parameters)].sort(),
    API_KEY_HEADER,
    CORRELATION_ID_HEADER,
  ].join(", ");
}

/**
 * CORS headers of a gateway response: THE rule (handlers/headers.ts), with static or request
 * values only, since a gateway response cannot test the origin. One allowed origin: named (a
 * browser on any other sees a mismatch, as with no header). Several: the caller's Origin echoed;
 * these bodies are error envelopes only, and the handlers' own responses honour the list exactly.
 */
export function gatewayResponseCorsHeaders(origins: readonly string[]): Record<string, string> {
  const mode = corsModeOf(origins);
  if (mode.kind === "off") {
    return {};
  }
  const [only] = mode.kind === "list" && mode.origins.length === 1 ? mode.origins : [];
  const echoed = mode.kind === "list" && only === undefined;
  return Object.fromEntries(
    Object.entries(allowedCallerHeaders(mode, only ?? VTL_ORIGIN)).map(([name, value]) => [
      name,
      echoed && value === VTL_ORIGIN ? "method.request.header.Origin" : staticValue(value),
    ]),
  );
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
 * headers (THE rule's, `VTL_ORIGIN` standing for the caller's origin); otherwise add none. Header
 * names reach `$input.params().header` in the client's casing, hence both spellings.
 */
function corsOverrideTemplate(origins: readonly string[], headers: Record<string, string>): string {
  const condition = origins.map((origin) => `${VTL_ORIGIN} == "${origin}"`).join(" || ");
  const sets = Object.entries(headers)
    .map(
      ([name, value]) =>
        `#set($context.responseOverride.header.${name} = ${value === VTL_ORIGIN ? VTL_ORIGIN : `"${value}"`})`,
    )
    .join("\n");
  return [
    `#set(${VTL_ORIGIN} = $input.params().header.get("Origin"))`,
    `#if("$!origin" == "")#set(${VTL_ORIGIN} = $input.params().header.get("origin"))#end`,
    `#if(${condition})`,
    sets,
    `#end`,
  ].join("\n");
}

interface MockResponse {
  status: number;
  /** Static headers (unquoted values). */
  headers: Record<string, string>;
  /** CORS headers besides THE rule's, sent with them (the preflight's). */
  corsExtras?: Record<string, string>;
  body: string;
  schemaRef?: string;
}

function mockOperation(
  description: string,
  response: MockResponse,
  origins: readonly string[],
): Record<string, unknown> {
  const mode = corsModeOf(origins);
  const cors = { ...allowedCallerHeaders(mode, VTL_ORIGIN), ...response.corsExtras };
  // Any origin: the same headers for every caller, static. A list: set in VTL for a listed origin.
  const staticCors = mode.kind === "any" ? cors : {};
  const overriddenCors = mode.kind === "list" ? cors : {};
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

/** `OPTIONS` on a path: the CORS preflight, 204, allowing the headers of `allowedHeaders`. */
export function preflightOperation(
  pathRoutes: readonly Route[],
  origins: readonly string[],
  allowedHeaders: string,
): Record<string, unknown> {
  const methods = allowedMethods(pathRoutes).join(", ");
  return mockOperation(
    "CORS preflight",
    {
      status: 204,
      headers: { ...SECURITY_HEADERS },
      corsExtras: {
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": allowedHeaders,
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
      // VTL: the values are escaped, whatever they hold.
      body:
        `{"error":{"code":"method_not_allowed","message":"$util.escapeJavaScript($context.httpMethod) is not allowed on $util.escapeJavaScript($context.resourcePath)",` +
        `"requestId":"$util.escapeJavaScript($context.extendedRequestId)"}}`,
      schemaRef: "#/components/schemas/Error",
    },
    origins,
  );
}

/** Where the API serves its public document, deployed (a mock integration) and locally alike. */
export const DOCUMENT_PATH = "/openapi.json";

/**
 * The public document as `GET /openapi.json` serves it and `npm run openapi` writes it: two-space
 * indentation, no trailing newline, and only ASCII (any other character as a JSON `\u` escape,
 * the same JSON), so its bytes do not depend on the charset a mapping template decodes to.
 */
export function documentJson(document: OpenApiDocument): string {
  return JSON.stringify(document, null, 2).replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * `GET /openapi.json`: the public document, from a mock integration, so that the deployed API
 * serves what the local runtime serves (and `openapi-typescript <apiUrl>openapi.json` works
 * against a stack). The template decodes it from base64 (`$util.base64Decode`, "$util variables"
 * in "Variables for data transformations"): base64 holds no character VTL reads (`$`, `#`), so
 * the document's `$ref`s reach the client as written. It needs no API key: the document is public
 * and holds no secret. About 67 KB of template (prod; the body is then about 131 KB), far under
 * ImportRestApi's 6 MB ("The maximum size of the API definition file is 6MB", API Gateway API
 * reference, ImportRestApi); the quota pages found here state no size for a mapping template.
 */
export function documentOperation(document: OpenApiDocument, origins: readonly string[]): Record<string, unknown> {
  const base64 = Buffer.from(documentJson(document), "ascii").toString("base64");
  return mockOperation(
    "The API's OpenAPI document",
    {
      status: 200,
      headers: { ...SECURITY_HEADERS },
      body: `$util.base64Decode("${base64}")`,
    },
    origins,
  );
}

/**
 * Keywords that only annotate (examples, read-only markers, defaults): API Gateway does not
 * support them in models, and no validator reads them.
 */
const ANNOTATION_KEYWORDS = new Set(["example", "readOnly", "default"]);

/**
 * A schema of the public document as an API Gateway model. The document keeps what tells its
 * readers and client generators more (openapi-typescript reads `nullable` and
 * `additionalProperties`); the model leaves out:
 * - the annotations (ANNOTATION_KEYWORDS);
 * - `additionalProperties: true`: draft 4's own default, which says nothing a model needs, in a
 *   keyword AWS's notes say models do not support (any other value stays, and the importer
 *   refuses it);
 * - `nullable: true` and, with it, `type`: draft 4 has no nullable, and its `type` would refuse
 *   the null. The rest stays (a string's length, an integer's range: draft 4 applies each to its
 *   own type only), and an integer's type becomes `multipleOf: 1`, which refuses a fraction and
 *   applies to numbers only; so the model checks the value where it is of the field's JSON type
 *   and lets any other type through, which the handler refuses (handlers/model.ts, LIMITS).
 * Anything else stays, and infra/apigateway-import.ts refuses what API Gateway would drop.
 */
export function gatewayModelOf(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    return schema.map(gatewayModelOf);
  }
  if (typeof schema !== "object" || schema === null) {
    return schema;
  }
  const nullable = (schema as { nullable?: unknown }).nullable === true;
  const integer = nullable && (schema as { type?: unknown }).type === "integer";
  return Object.fromEntries(
    [...Object.entries(schema), ...(integer ? [["multipleOf", 1] as const] : [])]
      .filter(
        ([key, value]) =>
          !ANNOTATION_KEYWORDS.has(key) &&
          !(key === "additionalProperties" && value === true) &&
          !(nullable && (key === "nullable" || key === "type")),
      )
      .map(([key, value]) => [
        key,
        key === "properties"
          ? mapValues(value, gatewayModelOf)
          : key === "enum" && nullable && Array.isArray(value)
            ? [...value, null]
            : gatewayModelOf(value),
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
      return match[1] === "parameters" ? importedParameter(inlined) : gatewayModelOf(inlined);
    }
  }
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, inlineRefs(member, components)]));
}

export function apiGatewayDocument(inputs: ApiGatewayDocumentInputs): OpenApiDocument {
  const source = structuredClone(inputs.document);
  const { parameters: _parameters, headers: _headers, schemas, ...otherComponents } = source.components;
  // API Gateway's import resolves model references only; parameters and headers go inline.
  const paths = inlineRefs(source.paths, source.components) as OpenApiDocument["paths"];
  const userPoolScheme = source.components.securitySchemes?.[USER_POOL_SCHEME] as { name?: unknown } | undefined;
  const allowedHeaders = corsAllowedHeaders(
    inputs.routes,
    typeof userPoolScheme?.name === "string" ? userPoolScheme.name : undefined,
  );

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
    pathItem.options = preflightOperation(pathRoutes, inputs.corsAllowedOrigins, allowedHeaders);
    pathItem["x-amazon-apigateway-any-method"] = methodNotAllowedOperation(pathRoutes, inputs.corsAllowedOrigins);
  }

  paths[DOCUMENT_PATH] = { get: documentOperation(inputs.document, inputs.corsAllowedOrigins) };

  const models = Object.fromEntries(
    Object.entries(schemas ?? {}).map(([name, schema]) => [name, gatewayModelOf(schema)]),
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
