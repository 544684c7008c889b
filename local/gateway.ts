/**
 * What API Gateway does in AWS, done locally: route matching (404 / 405 with Allow), CORS
 * preflight, the API-key check, request validation against the route's draft-4 model, the
 * proxy event (v1 payload), a Lambda-like context with the function timeout (504), and the
 * error envelope on every response it makes itself.
 */
import { randomUUID } from "crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import Ajv, { ValidateFunction } from "ajv-draft-04";
import { ErrorCode } from "../handlers/errors";
import type { ProxyHandler } from "../handlers/http";
import { corsHeaders } from "../handlers/http";
import { HttpMethod, Route, routesByPath } from "../infra/routes";
import { ERROR_STATUS } from "../infra/openapi";

export interface GatewayRequest {
  method: string;
  /** Path and query as sent, e.g. `/items?limit=5`. */
  url: string;
  /** Header names in the client's casing, values in order (Node's `rawHeaders` pairs). */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
}

export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  /** For the access log. */
  requestId: string;
  operationId?: string;
}

export interface GatewayOptions {
  routes: readonly Route[];
  handlers: Record<string, ProxyHandler>;
  corsAllowedOrigins: string[];
  /** Keys accepted in `x-api-key`; undefined when the stack does not require keys. */
  apiKeys: string[] | undefined;
  timeoutMs: number;
  memoryMb: number;
  stage: string;
}

/** Headers a browser may send cross-origin; the preflight allows exactly these. */
export const CORS_ALLOWED_HEADERS =
  "Content-Type, If-Match, If-None-Match, Idempotency-Key, x-api-key, x-correlation-id";

/** API Gateway's own request limit; the handlers enforce the 64 KiB item body limit. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

const GATEWAY_HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

interface Match {
  route: Route;
  pathParameters: Record<string, string> | null;
}

type PathMatch = { kind: "route"; match: Match } | { kind: "method"; allow: HttpMethod[] } | { kind: "none" };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const templateParts = template.split("/");
  const pathParts = path.split("/");
  if (templateParts.length !== pathParts.length) {
    return undefined;
  }
  const parameters: Record<string, string> = {};
  for (let index = 0; index < templateParts.length; index++) {
    const expected = templateParts[index] ?? "";
    const actual = pathParts[index] ?? "";
    const parameter = /^\{(\w+)\}$/.exec(expected);
    if (parameter?.[1] !== undefined) {
      if (actual === "") {
        return undefined;
      }
      parameters[parameter[1]] = actual;
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return parameters;
}

export function createGateway(options: GatewayOptions): (request: GatewayRequest) => Promise<GatewayResponse> {
  const byPath = routesByPath(options.routes);
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validators = new Map<Route, ValidateFunction>();
  for (const route of options.routes) {
    if (route.requestSchema !== undefined) {
      validators.set(route, ajv.compile(route.requestSchema.schema));
    }
  }

  // API Gateway prefers literal segments over `{parameters}`: /items/count beats /items/{id}.
  const templates = [...byPath.entries()].sort(
    ([a], [b]) =>
      b.split("/").filter((part) => !part.startsWith("{")).length -
      a.split("/").filter((part) => !part.startsWith("{")).length,
  );

  function matchPath(method: string, path: string): PathMatch {
    for (const [template, pathRoutes] of templates) {
      const parameters = matchTemplate(template, path);
      if (parameters === undefined) {
        continue;
      }
      const route = pathRoutes.find((candidate) => candidate.method === method);
      if (route === undefined) {
        return { kind: "method", allow: pathRoutes.map((candidate) => candidate.method) };
      }
      return {
        kind: "route",
        match: { route, pathParameters: Object.keys(parameters).length > 0 ? parameters : null },
      };
    }
    return { kind: "none" };
  }

  function gatewayError(
    requestId: string,
    origin: string | undefined,
    code: ErrorCode,
    message: string,
    extraHeaders: Record<string, string> = {},
  ): GatewayResponse {
    return {
      statusCode: ERROR_STATUS[code],
      headers: {
        "Content-Type": "application/json",
        ...GATEWAY_HEADERS,
        "x-request-id": requestId,
        ...corsHeaders(options.corsAllowedOrigins, origin),
        ...extraHeaders,
      },
      body: JSON.stringify({ error: { code, message, requestId } }),
      requestId,
    };
  }

  function preflight(requestId: string, origin: string | undefined, allow: HttpMethod[]): GatewayResponse {
    const cors = corsHeaders(options.corsAllowedOrigins, origin);
    const headers: Record<string, string> = { ...GATEWAY_HEADERS, "x-request-id": requestId, ...cors };
    if (cors["Access-Control-Allow-Origin"] !== undefined) {
      headers["Access-Control-Allow-Methods"] = [...allow, "OPTIONS"].join(", ");
      headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS;
      headers["Access-Control-Max-Age"] = "600";
    }
    return { statusCode: 204, headers, body: "", requestId };
  }

  return async (request) => {
    const requestId = randomUUID();
    const headers = headerMaps(request.rawHeaders);
    const origin = headers.single.origin;
    // Split by hand: `new URL()` would read a target such as `//host` as an authority.
    const queryStart = request.url.indexOf("?");
    const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? "" : request.url.slice(queryStart + 1));
    const found = matchPath(request.method, path);
    if (found.kind === "none") {
      return gatewayError(requestId, origin, "not_found", `no route for ${request.method} ${path}`);
    }
    if (found.kind === "method") {
      if (request.method === "OPTIONS") {
        return preflight(requestId, origin, found.allow);
      }
      return gatewayError(requestId, origin, "method_not_allowed", `${request.method} is not allowed on ${path}`, {
        Allow: found.allow.join(", "),
      });
    }
    const { route, pathParameters } = found.match;
    if (options.apiKeys !== undefined) {
      const key = headers.single["x-api-key"];
      if (key === undefined || !options.apiKeys.includes(key)) {
        return gatewayError(requestId, origin, "forbidden", "Forbidden");
      }
    }
    if (request.body.length > API_GATEWAY_MAX_BODY_BYTES) {
      return gatewayError(
        requestId,
        origin,
        "payload_too_large",
        "the request is larger than API Gateway's 10 MB limit",
      );
    }
    const bodyText = request.body.length > 0 ? request.body.toString("utf8") : null;
    const invalid = validateBody(route, headers.single["content-type"], bodyText);
    if (invalid !== undefined) {
      return gatewayError(requestId, origin, "validation_failed", invalid);
    }
    let decodedParameters: Record<string, string> | null;
    try {
      decodedParameters =
        pathParameters === null
          ? null
          : Object.fromEntries(Object.entries(pathParameters).map(([key, value]) => [key, decodeURIComponent(value)]));
    } catch {
      return gatewayError(requestId, origin, "not_found", `no route for ${request.method} ${path}`);
    }
    const event = proxyEvent(
      request,
      route,
      path,
      query,
      headers,
      decodedParameters,
      requestId,
      bodyText,
      options.stage,
    );
    const result = await invoke(route, event);
    if (result.kind === "timeout") {
      return {
        ...gatewayError(requestId, origin, "gateway_timeout", "Endpoint request timed out"),
        operationId: route.operationId,
      };
    }
    if (result.kind === "error" || !isProxyResult(result.value)) {
      return {
        ...gatewayError(requestId, origin, "bad_gateway", "Internal server error"),
        operationId: route.operationId,
      };
    }
    const responseHeaders: Record<string, string> = { "x-request-id": requestId };
    for (const [key, value] of Object.entries(result.value.headers ?? {})) {
      responseHeaders[key] = String(value);
    }
    return {
      statusCode: result.value.statusCode,
      headers: responseHeaders,
      body: result.value.isBase64Encoded
        ? Buffer.from(result.value.body, "base64").toString("utf8")
        : result.value.body,
      requestId,
      operationId: route.operationId,
    };
  };

  function validateBody(route: Route, contentType: string | undefined, body: string | null): string | undefined {
    const validate = validators.get(route);
    const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
    if (validate === undefined || mediaType === undefined || !route.requestSchema?.contentTypes.includes(mediaType)) {
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body ?? "");
    } catch {
      // In AWS the model validator answers 400 here too; locally the handler's more precise
      // 400 malformed_json is kept (see README, "Local runtime and AWS").
      return undefined;
    }
    if (validate(parsed)) {
      return undefined;
    }
    return `request body does not match the ${route.requestSchema?.name} model: ${ajv.errorsText(validate.errors, { dataVar: "body" })}`;
  }

  async function invoke(
    route: Route,
    event: APIGatewayProxyEvent,
  ): Promise<{ kind: "ok"; value: unknown } | { kind: "error"; error: unknown } | { kind: "timeout" }> {
    const handler = options.handlers[route.operationId];
    if (handler === undefined) {
      return { kind: "error", error: new Error(`no handler for ${route.operationId}`) };
    }
    const deadline = Date.now() + options.timeoutMs;
    const context = lambdaContext(route, options, deadline);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ kind: "timeout" }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "timeout" }), options.timeoutMs);
    });
    try {
      return await Promise.race([
        handler(event, context).then(
          (value) => ({ kind: "ok" as const, value }),
          (error: unknown) => ({ kind: "error" as const, error }),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { statusCode, body } = value as Partial<APIGatewayProxyResult>;
  return typeof statusCode === "number" && Number.isInteger(statusCode) && typeof body === "string";
}

interface HeaderMaps {
  /** Client casing, last value wins (API Gateway's `headers`). */
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  /** Lower-cased names, for the gateway's own lookups. */
  single: Record<string, string | undefined>;
}

function headerMaps(rawHeaders: string[]): HeaderMaps {
  const maps: HeaderMaps = { headers: {}, multiValueHeaders: {}, single: {} };
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? "";
    const value = rawHeaders[index + 1] ?? "";
    const existing = Object.keys(maps.headers).find((key) => key.toLowerCase() === name.toLowerCase()) ?? name;
    maps.headers[existing] = value;
    maps.multiValueHeaders[existing] = [...(maps.multiValueHeaders[existing] ?? []), value];
    maps.single[name.toLowerCase()] = value;
  }
  return maps;
}

function proxyEvent(
  request: GatewayRequest,
  route: Route,
  path: string,
  query: URLSearchParams,
  headers: HeaderMaps,
  pathParameters: Record<string, string> | null,
  requestId: string,
  body: string | null,
  stage: string,
): APIGatewayProxyEvent {
  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [key, value] of query) {
    queryStringParameters[key] = value;
    multiValueQueryStringParameters[key] = [...(multiValueQueryStringParameters[key] ?? []), value];
  }
  const hasQuery = Object.keys(queryStringParameters).length > 0;
  const forwarded = {
    "X-Forwarded-For": request.sourceIp,
    "X-Forwarded-Proto": "http",
  };
  const host = headers.single.host ?? "localhost";
  return {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers: { ...headers.headers, ...forwarded },
    multiValueHeaders: {
      ...headers.multiValueHeaders,
      ...Object.fromEntries(Object.entries(forwarded).map(([key, value]) => [key, [value]])),
    },
    queryStringParameters: hasQuery ? queryStringParameters : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    pathParameters,
    stageVariables: null,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: undefined,
      domainName: host,
      httpMethod: route.method,
      identity: proxyIdentity(request.sourceIp, headers.single["user-agent"], headers.single["x-api-key"]),
      path,
      protocol: "HTTP/1.1",
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: "local",
      resourcePath: route.path,
      stage,
    },
    body,
    isBase64Encoded: false,
  };
}

/** `requestContext.identity` of a proxy event: only the caller's address, agent and API key. */
export function proxyIdentity(
  sourceIp: string,
  userAgent: string | undefined,
  apiKey: string | undefined,
): APIGatewayProxyEvent["requestContext"]["identity"] {
  return {
    accessKey: null,
    accountId: null,
    apiKey: apiKey ?? null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent: userAgent ?? null,
    userArn: null,
  };
}

function lambdaContext(route: Route, options: GatewayOptions, deadline: number): Context {
  const functionName = `items-api-local-${route.operationId}`;
  const unsupported = (): never => {
    throw new Error("callback-style completion is not supported: handlers are async");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
