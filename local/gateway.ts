/**
 * The local API Gateway: an interpreter of the REST API body the stack deploys. It imports the
 * document under AWS's rules (infra/apigateway-import.ts) and then does what the document tells
 * API Gateway to do: match resources and methods (ANY included), require API keys where an
 * operation's `security` says so, validate bodies with the request validator and models, run
 * mock integrations (VTL templates, `$context.responseOverride`) and Lambda proxy integrations
 * (v1 event, Lambda-like context, function and integration timeouts), and answer with the
 * document's gateway responses. No rule of the API itself is written here.
 */
import { randomBytes, randomUUID } from "crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import Ajv, { ValidateFunction } from "ajv-draft-04";
import { Compile, parse as parseVtl } from "velocityjs";
import { JSONWebKeySet, JWTVerifyGetKey, createLocalJWKSet, jwtVerify } from "jose";
import { lambdaContext, proxyEvent, proxyIdentity } from "../handlers/events";
import type { ProxyHandler } from "../handlers/http";
import {
  API_KEY_HEADER,
  DEFAULT_CONTENT_TYPE,
  FUNCTION_ERROR_STATUS,
  GATEWAY_MESSAGES,
  GATEWAY_RESPONSE_TYPES,
  HTTP_METHODS,
  ImportedApi,
  ImportedMethod,
  IntegrationResponse,
  INTEGRATION_TIMEOUT_STATUS,
  INVOKE_REJECTED_STATUS,
  LAMBDA_SYNC_PAYLOAD_BYTES,
  MAX_PAYLOAD_BYTES,
  METHOD_OVERRIDE_HEADER,
  MockIntegration,
  PAYLOAD_TOO_LARGE_TEXT,
  ProxyIntegration,
  USER_POOL_TOKEN_USE,
  UserPoolAuthorizer,
  ValueSource,
  claimsOf,
  describeFindings,
  importRestApi,
  renderGatewayTemplate,
  userPoolIssuer,
} from "../infra/apigateway-import";

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
  headers: Record<string, string | string[]>;
  body: Buffer | string;
  /** API Gateway's ids of this request, for the access log. */
  requestId: string;
  extendedRequestId: string;
  operationId?: string;
  /** What API Gateway would log about a refused request (never sent to the client). */
  detail?: string;
}

export interface GatewayOptions {
  /** The REST API body, as the stack deploys it. */
  document: unknown;
  /** Handlers by Lambda function name (the name in each integration's URI). */
  functions: Record<string, ProxyHandler>;
  /** API keys the usage plan accepts. */
  apiKeys: readonly string[];
  /** Each function's own timeout; past it the invocation fails (INTEGRATION_FAILURE). */
  functionTimeoutMs: number;
  memoryMb: number;
  stage: string;
  /** `host:port` clients reach this gateway on (`requestContext.domainName`); known once listening. */
  domainName: () => string;
  /** Serve a document that API Gateway would import only with warnings (its `failOnWarnings: false`). */
  acceptImportFindings?: boolean;
  /** The public keys of each user pool an authorizer names, by pool ARN (as the pool publishes them). */
  userPools?: Record<string, JSONWebKeySet>;
}

/** API Gateway's extended request ids are 16 base64 characters (e.g. `Abcd1EfGhIjKlM=`). */
const newExtendedRequestId = (): string => randomBytes(11).toString("base64");

interface RequestHeaders {
  /**
   * Client casing (first seen) -> the last value: the event's `headers`. A Map, so that a name
   * such as `__proto__` or `toString` is data, never an inherited property.
   */
  single: Map<string, string>;
  /** Lower-cased name -> the casing used in `single`. */
  names: Map<string, string>;
}

/** Linear in the number of header lines. */
function requestHeaders(rawHeaders: readonly string[]): RequestHeaders {
  const headers: RequestHeaders = { single: new Map(), names: new Map() };
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? "";
    const lower = name.toLowerCase();
    const key = headers.names.get(lower) ?? name;
    headers.names.set(lower, key);
    headers.single.set(key, rawHeaders[index + 1] ?? "");
  }
  return headers;
}

function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const key = headers.names.get(name.toLowerCase());
  return key === undefined ? undefined : headers.single.get(key);
}

const mediaTypeOf = (contentType: string | undefined): string =>
  (contentType?.split(";")[0]?.trim().toLowerCase() || undefined) ?? DEFAULT_CONTENT_TYPE;

function templateFor(templates: Record<string, string>, mediaType: string): string | undefined {
  const match = Object.entries(templates).find(([type]) => type.toLowerCase() === mediaType);
  return match?.[1];
}

/** A response template: the one for JSON, else the first (the method responses here are JSON). */
function responseTemplate(templates: Record<string, string>): string | undefined {
  return templateFor(templates, DEFAULT_CONTENT_TYPE) ?? Object.values(templates)[0];
}

interface MatchedMethod {
  method: ImportedMethod;
  pathParameters: Record<string, string> | null;
}

type Routing = { kind: "method"; matched: MatchedMethod } | { kind: "none" };

/** Resources by specificity: a literal segment beats a `{parameter}` (as API Gateway matches). */
function router(api: ImportedApi): (method: string, path: string) => Routing {
  const resources = api.resources
    .map((resource) => ({ resource, segments: resource.path.split("/").slice(1) }))
    .sort(
      (a, b) =>
        b.segments.filter((segment) => !segment.startsWith("{")).length -
        a.segments.filter((segment) => !segment.startsWith("{")).length,
    );
  return (method, path) => {
    const parts = path.split("/").slice(1);
    for (const { resource, segments } of resources) {
      if (segments.length !== parts.length && !(resource.path === "/" && path === "/")) {
        continue;
      }
      const parameters: Record<string, string> = {};
      const matches = segments.every((segment, index) => {
        const part = parts[index] ?? "";
        const name = /^\{(.+)\}$/.exec(segment)?.[1];
        if (name !== undefined) {
          parameters[name] = part;
          return part !== "";
        }
        return segment === part;
      });
      if (!matches) {
        continue;
      }
      const found =
        (Object.hasOwn(resource.methods, method) ? resource.methods[method] : undefined) ?? resource.methods.ANY;
      if (found === undefined) {
        return { kind: "none" };
      }
      return {
        kind: "method",
        matched: { method: found, pathParameters: Object.keys(parameters).length > 0 ? parameters : null },
      };
    }
    return { kind: "none" };
  };
}

/** Function name of a Lambda ARN (`arn:aws:lambda:region:account:function:NAME[:qualifier]`). */
export function functionNameOf(functionArn: string): string {
  return functionArn.split(":")[6] ?? functionArn;
}

export function createGateway(options: GatewayOptions): (request: GatewayRequest) => Promise<GatewayResponse> {
  const { api, findings } = importRestApi(options.document);
  if (findings.length > 0 && options.acceptImportFindings !== true) {
    throw new Error(
      `the REST API document relies on what API Gateway ignores or drops:\n${describeFindings(findings)}`,
    );
  }
  for (const resource of api.resources) {
    for (const method of Object.values(resource.methods)) {
      if (
        method.integration.type === "aws_proxy" &&
        options.functions[functionNameOf(method.integration.functionArn)] === undefined
      ) {
        throw new Error(
          `no local handler for ${method.integration.functionArn} (${method.httpMethod} ${resource.path})`,
        );
      }
    }
  }
  const routeOf = router(api);
  const validate = modelValidators(api);
  const verifiedClaims = tokenVerifier(
    new Map(Object.entries(options.userPools ?? {}).map(([arn, jwks]) => [arn, createLocalJWKSet(jwks)] as const)),
  );

  return async (request) => {
    const ids = { requestId: randomUUID(), extendedRequestId: newExtendedRequestId() };
    const awsHeaders = { "x-amzn-RequestId": ids.requestId, "x-amz-apigw-id": ids.extendedRequestId };
    // [notes] over 10 MB API Gateway answers its own 413, before anything in the document applies.
    if (request.body.length > MAX_PAYLOAD_BYTES) {
      return {
        statusCode: 413,
        headers: { "Content-Type": "text/plain", ...awsHeaders },
        body: PAYLOAD_TOO_LARGE_TEXT,
        ...ids,
      };
    }
    const headers = requestHeaders(request.rawHeaders);
    const queryStart = request.url.indexOf("?");
    // Split by hand: `new URL()` would read a target such as `//host` as an authority.
    const path = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? "" : request.url.slice(queryStart + 1));
    const override = headerValue(headers, METHOD_OVERRIDE_HEADER)?.toUpperCase();
    const httpMethod = override !== undefined && HTTP_METHODS.includes(override) ? override : request.method;
    const base: GatewayContext = {
      ...ids,
      httpMethod,
      path,
      resourcePath: "",
      stage: options.stage,
      headers,
      awsHeaders,
    };

    const routing = routeOf(httpMethod, path);
    if (routing.kind === "none") {
      return gatewayResponse(api, "MISSING_AUTHENTICATION_TOKEN", base);
    }
    const { method, pathParameters } = routing.matched;
    const context: GatewayContext = { ...base, resourcePath: method.resourcePath };
    const operationId = method.operationId;
    const withOperation = (response: GatewayResponse): GatewayResponse => ({ ...response, operationId });

    // The authorizer before the API key: AWS does not document the order; a request that fails
    // both is answered 401, which tells the client what to fix first.
    let claims: Record<string, string> | undefined;
    if (method.authorizer !== undefined) {
      claims = await verifiedClaims(method.authorizer, headerValue(headers, method.authorizer.header));
      if (claims === undefined) {
        return withOperation(gatewayResponse(api, "UNAUTHORIZED", context));
      }
    }
    if (method.apiKeyRequired && api.apiKeySource === "HEADER") {
      const key = headerValue(headers, API_KEY_HEADER);
      if (key === undefined || !options.apiKeys.includes(key)) {
        return withOperation(gatewayResponse(api, "INVALID_API_KEY", context));
      }
    }
    const mediaType = mediaTypeOf(headerValue(headers, "content-type"));
    if (method.validateBody) {
      const problem = validateBody(validate, method, mediaType, request.body);
      if (problem !== undefined) {
        return withOperation({ ...gatewayResponse(api, "BAD_REQUEST_BODY", context), detail: problem });
      }
    }
    if (method.integration.type === "mock") {
      return withOperation(runMock(api, method.integration, mediaType, request, query, pathParameters, context));
    }
    let decodedParameters: Record<string, string> | null;
    try {
      decodedParameters =
        pathParameters === null
          ? null
          : Object.fromEntries(Object.entries(pathParameters).map(([key, value]) => [key, decodeURIComponent(value)]));
    } catch {
      return gatewayResponse(api, "MISSING_AUTHENTICATION_TOKEN", context);
    }
    const event = eventOf(request, method, options, context, query, decodedParameters, claims);
    return withOperation(await runProxy(api, method.integration, event, options, context));
  };
}

// ---------------------------------------------------------------------------------------------
// Request validation

type Validators = (modelName: string) => ValidateFunction;

/**
 * One set of validators per distinct set of models in a process: adding the models checks each
 * against draft 4's meta-schema, which Ajv compiles anew for every instance, and every gateway of
 * the same document (or of another stack with the same models) would repeat that and every
 * compile. Models do not change once imported.
 */
const validatorsByModels = new Map<string, Validators>();

function modelValidators(api: ImportedApi): Validators {
  const key = JSON.stringify(api.models);
  const shared = validatorsByModels.get(key);
  if (shared !== undefined) {
    return shared;
  }
  const ajv = new Ajv({ allErrors: false, strict: false });
  for (const [name, model] of Object.entries(api.models)) {
    ajv.addSchema(model, `#/components/schemas/${name}`);
  }
  const compiled = new Map<string, ValidateFunction>();
  const validators: Validators = (name) => {
    let validate = compiled.get(name);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `#/components/schemas/${name}` });
      compiled.set(name, validate);
    }
    return validate;
  };
  validatorsByModels.set(key, validators);
  return validators;
}

/**
 * [validation] The body is checked against the model declared for its media type (a request
 * without Content-Type counts as application/json [passthrough]); a media type without a model
 * is not validated. A body that is not JSON fails.
 */
function validateBody(
  validate: Validators,
  method: ImportedMethod,
  mediaType: string,
  body: Buffer,
): string | undefined {
  const modelName = method.requestModels[mediaType];
  if (modelName === undefined) {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return "the body is not JSON";
  }
  const validator = validate(modelName);
  if (validator(parsed)) {
    return undefined;
  }
  return `${modelName}: ${(validator.errors ?? []).map((error) => `${error.instancePath || "body"} ${error.message ?? ""}`).join("; ")}`;
}

// ---------------------------------------------------------------------------------------------
// Gateway responses

interface GatewayContext {
  requestId: string;
  extendedRequestId: string;
  httpMethod: string;
  path: string;
  resourcePath: string;
  stage: string;
  headers: RequestHeaders;
  awsHeaders: Record<string, string>;
}

function resolveSource(
  source: ValueSource,
  context: GatewayContext,
  contextValues: Record<string, string>,
): string | undefined {
  if (source.kind === "static") {
    return source.value;
  }
  if (source.kind === "context") {
    return contextValues[source.variable];
  }
  return source.location === "header" ? headerValue(context.headers, source.name) : undefined;
}

function contextValues(context: GatewayContext, type?: string, message?: string): Record<string, string> {
  return {
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId,
    httpMethod: context.httpMethod,
    path: context.path,
    resourcePath: context.resourcePath,
    stage: context.stage,
    ...(type === undefined ? {} : { "error.responseType": type }),
    ...(message === undefined ? {} : { "error.message": message, "error.messageString": `"${message}"` }),
  };
}

/**
 * The answer API Gateway makes itself, from the document's gateway response of that type, else
 * its DEFAULT_4XX / DEFAULT_5XX, else API Gateway's built-in `{"message": ...}` [gwresp, types].
 */
function gatewayResponse(
  api: ImportedApi,
  type: string,
  context: GatewayContext,
  nativeStatus = GATEWAY_RESPONSE_TYPES[type] ?? 500,
): GatewayResponse {
  const fallback = api.gatewayResponses[nativeStatus < 500 ? "DEFAULT_4XX" : "DEFAULT_5XX"];
  const definition = api.gatewayResponses[type] ?? fallback;
  const statusCode = definition?.statusCode ?? fallback?.statusCode ?? nativeStatus;
  const message = GATEWAY_MESSAGES[type] ?? "Error";
  const values = contextValues(context, type, message);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  for (const [name, source] of Object.entries(definition?.headers ?? {})) {
    const value = resolveSource(source, context, values);
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  const template =
    definition === undefined ? '{"message":$context.error.messageString}' : responseTemplate(definition.templates);
  return {
    statusCode,
    headers: { ...headers, ...context.awsHeaders },
    body: template === undefined ? "" : renderGatewayTemplate(template, values),
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId,
  };
}

// ---------------------------------------------------------------------------------------------
// Mock integrations (VTL)

/** `$util` of API Gateway's mapping templates, the parts that are plain functions. */
const vtlUtil = {
  escapeJavaScript: (value: unknown): string => JSON.stringify(String(value)).slice(1, -1),
  urlEncode: (value: unknown): string => encodeURIComponent(String(value)),
  urlDecode: (value: unknown): string => decodeURIComponent(String(value)),
  base64Encode: (value: unknown): string => Buffer.from(String(value)).toString("base64"),
  base64Decode: (value: unknown): string => Buffer.from(String(value), "base64").toString("utf8"),
};

interface VtlState {
  responseOverride: { status?: unknown; header: Record<string, unknown> };
}

function renderVtl(
  template: string,
  context: GatewayContext,
  request: { body: Buffer; query: URLSearchParams; pathParameters: Record<string, string> | null },
  state: VtlState,
): string {
  const asMap = (values: Map<string, string>) => ({
    ...Object.fromEntries(values),
    get: (name: string) => values.get(name),
  });
  const header = asMap(context.headers.single);
  const querystring = asMap(new Map(request.query));
  const path = asMap(new Map(Object.entries(request.pathParameters ?? {})));
  const input = {
    body: request.body.toString("utf8"),
    params: (name?: string) =>
      name === undefined
        ? { header, querystring, path }
        : (path.get(name) ?? querystring.get(name) ?? header.get(name)),
    json: () => request.body.toString("utf8"),
  };
  const vtlContext = { ...contextValues(context), responseOverride: state.responseOverride };
  return new Compile(parseVtl(template)).render({ input, context: vtlContext, util: vtlUtil });
}

function runMock(
  api: ImportedApi,
  integration: MockIntegration,
  mediaType: string,
  request: GatewayRequest,
  query: URLSearchParams,
  pathParameters: Record<string, string> | null,
  context: GatewayContext,
): GatewayResponse {
  const vtlRequest = { body: request.body, query, pathParameters };
  const state: VtlState = { responseOverride: { header: {} } };
  // [passthrough] a media type without a template passes through only with when_no_match, and
  // when_no_templates passes through only when no template is defined at all.
  const requestTemplate = templateFor(integration.requestTemplates, mediaType);
  const hasTemplates = Object.keys(integration.requestTemplates).length > 0;
  if (
    requestTemplate === undefined &&
    (integration.passthroughBehavior === "never" ||
      (integration.passthroughBehavior === "when_no_templates" && hasTemplates))
  ) {
    return gatewayResponse(api, "UNSUPPORTED_MEDIA_TYPE", context);
  }
  const mockInput =
    requestTemplate === undefined
      ? request.body.toString("utf8")
      : renderVtl(requestTemplate, context, vtlRequest, state);
  let mockStatus: number;
  try {
    const parsed: unknown = JSON.parse(mockInput);
    mockStatus = Number((parsed as { statusCode?: unknown }).statusCode);
  } catch {
    mockStatus = NaN;
  }
  // [mock] the request template's statusCode selects the integration response.
  const response: IntegrationResponse | undefined =
    integration.responses.find(
      (candidate) =>
        candidate.selectionPattern !== undefined &&
        new RegExp(`^(?:${candidate.selectionPattern})$`).test(String(mockStatus)),
    ) ?? integration.responses.find((candidate) => candidate.selectionPattern === undefined);
  if (response === undefined || !Number.isInteger(mockStatus)) {
    return gatewayResponse(api, "API_CONFIGURATION_ERROR", context);
  }
  const values = contextValues(context);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  for (const [name, source] of Object.entries(response.headers)) {
    const value = resolveSource(source, context, values);
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  const template = responseTemplate(response.templates);
  const body = template === undefined ? "" : renderVtl(template, context, vtlRequest, state);
  for (const [name, value] of Object.entries(state.responseOverride.header)) {
    headers[name] = String(value);
  }
  const overridden = Number(state.responseOverride.status);
  return {
    statusCode: Number.isInteger(overridden) && overridden > 0 ? overridden : response.statusCode,
    headers: { ...headers, ...context.awsHeaders },
    body,
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId,
  };
}

// ---------------------------------------------------------------------------------------------
// Cognito user pool authorizers

/** A pool's keys, as jose's `jwtVerify` takes them (`createLocalJWKSet` makes one). */
export type KeySet = JWTVerifyGetKey;

/** How many verified tokens a gateway remembers (the oldest verified goes first). */
const VERIFIED_TOKENS = 1000;

interface VerifiedToken {
  claims: Record<string, string>;
  /** jose's numeric dates, in epoch seconds. */
  exp: number | undefined;
  nbf: number | undefined;
}

/**
 * The claims of a token the authorizer accepts, as API Gateway hands them on; undefined when it
 * refuses the token: a signature by none of the pools' keys, expired or not yet valid, another
 * issuer than the pool's, or not an ID token (see infra/apigateway-import.ts for the rules).
 *
 * A token once verified is remembered with its `exp` and `nbf`, which every later request
 * checks again as jose does (`nbf > now` or `exp <= now`, in whole seconds, no tolerance: in
 * node_modules/jose, lib/jwt_claims_set.js): the signature and the issuer of the same string
 * under the same keys cannot change, so only time can turn the answer. Checking the signature
 * took about 175 us of CPU per request in the local runtime.
 */
export function tokenVerifier(keySets: ReadonlyMap<string, KeySet>, clock: () => number = Date.now) {
  const verified = new Map<string, VerifiedToken>();
  return async (
    authorizer: UserPoolAuthorizer,
    token: string | undefined,
  ): Promise<Record<string, string> | undefined> => {
    if (token === undefined || token === "") {
      return undefined;
    }
    const cacheKey = `${authorizer.providerArns.join(",")} ${token}`;
    const known = verified.get(cacheKey);
    if (known !== undefined) {
      const now = Math.floor(clock() / 1000);
      if ((known.nbf === undefined || known.nbf <= now) && (known.exp === undefined || known.exp > now)) {
        return { ...known.claims };
      }
      verified.delete(cacheKey);
    }
    for (const arn of authorizer.providerArns) {
      const keys = keySets.get(arn);
      const issuer = userPoolIssuer(arn);
      if (keys === undefined || issuer === undefined) {
        continue;
      }
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer,
          algorithms: ["RS256"],
          clockTolerance: 0,
          currentDate: new Date(clock()),
        });
        if (payload.token_use === USER_POOL_TOKEN_USE) {
          const claims = claimsOf(payload);
          verified.set(cacheKey, { claims, exp: payload.exp, nbf: payload.nbf });
          const oldest = verified.keys().next().value;
          if (verified.size > VERIFIED_TOKENS && oldest !== undefined) {
            verified.delete(oldest);
          }
          return { ...claims };
        }
      } catch {
        // Not this pool's: try the next.
      }
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda proxy integrations

function eventOf(
  request: GatewayRequest,
  method: ImportedMethod,
  options: GatewayOptions,
  context: GatewayContext,
  query: URLSearchParams,
  pathParameters: Record<string, string> | null,
  claims: Record<string, string> | undefined,
): APIGatewayProxyEvent {
  // The gateway's own forwarding headers; a client's copies, in any casing, never win.
  const forwarding = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"]);
  const forwardedFor = headerValue(context.headers, "x-forwarded-for");
  const headers: [string, string][] = [];
  for (let index = 0; index + 1 < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index] ?? "";
    if (!forwarding.has(name.toLowerCase())) {
      headers.push([name, request.rawHeaders[index + 1] ?? ""]);
    }
  }
  headers.push(
    ["X-Forwarded-For", forwardedFor === undefined ? request.sourceIp : `${forwardedFor}, ${request.sourceIp}`],
    ["X-Forwarded-Proto", "http"],
    ["X-Forwarded-Port", options.domainName().split(":").pop() ?? ""],
  );
  return proxyEvent({
    method: context.httpMethod,
    path: context.path,
    resource: method.resourcePath,
    pathParameters,
    query: [...query],
    headers,
    body: request.body.length > 0 ? request.body.toString("utf8") : null,
    requestContext: {
      domainName: options.domainName(),
      extendedRequestId: context.extendedRequestId,
      identity: proxyIdentity(
        request.sourceIp,
        headerValue(context.headers, "user-agent"),
        headerValue(context.headers, API_KEY_HEADER),
      ),
      requestId: context.requestId,
      stage: options.stage,
      // [proxy] what a COGNITO_USER_POOLS authorizer hands the integration.
      ...(claims === undefined ? {} : { authorizer: { claims } }),
    },
  });
}

type InvocationOutcome =
  { kind: "ok"; value: unknown } | { kind: "error" } | { kind: "function-timeout" } | { kind: "integration-timeout" };

async function runProxy(
  api: ImportedApi,
  integration: ProxyIntegration,
  event: APIGatewayProxyEvent,
  options: GatewayOptions,
  context: GatewayContext,
): Promise<GatewayResponse> {
  const functionName = functionNameOf(integration.functionArn);
  const handler = options.functions[functionName];
  // Lambda refuses a synchronous invocation whose event exceeds its payload quota.
  if (handler === undefined || Buffer.byteLength(JSON.stringify(event)) > LAMBDA_SYNC_PAYLOAD_BYTES) {
    return gatewayResponse(api, "INTEGRATION_FAILURE", context, INVOKE_REJECTED_STATUS);
  }
  const outcome = await invoke(handler, event, functionName, integration, options);
  if (outcome.kind === "integration-timeout") {
    return gatewayResponse(api, "INTEGRATION_TIMEOUT", context, INTEGRATION_TIMEOUT_STATUS);
  }
  // A result over the payload quota fails the invocation after the function ran, like a throw.
  if (
    outcome.kind !== "ok" ||
    !isProxyResult(outcome.value) ||
    Buffer.byteLength(JSON.stringify(outcome.value)) > LAMBDA_SYNC_PAYLOAD_BYTES
  ) {
    return gatewayResponse(api, "INTEGRATION_FAILURE", context, FUNCTION_ERROR_STATUS);
  }
  const result = outcome.value;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name] = String(value);
  }
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String);
  }
  // [notes] "API Gateway includes a Content-Type header for all integration responses. By
  // default, the content type is application/json."
  if (!Object.keys(headers).some((name) => name.toLowerCase() === "content-type")) {
    headers["Content-Type"] = "application/json";
  }
  return {
    statusCode: result.statusCode,
    headers: { ...headers, ...context.awsHeaders },
    body: result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body,
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId,
  };
}

/** Runs the handler until the first of: its result, the function's timeout, the integration's. */
async function invoke(
  handler: ProxyHandler,
  event: APIGatewayProxyEvent,
  functionName: string,
  integration: ProxyIntegration,
  options: GatewayOptions,
): Promise<InvocationOutcome> {
  const functionTimeout = options.functionTimeoutMs;
  const limit = Math.min(functionTimeout, integration.timeoutMs);
  const deadline = Date.now() + functionTimeout;
  const context = lambdaContext({ functionName, memoryMb: options.memoryMb, deadline });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<InvocationOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: limit < functionTimeout ? "integration-timeout" : "function-timeout" }),
      limit,
    );
  });
  try {
    return await Promise.race([
      handler(event, context).then(
        (value): InvocationOutcome => ({ kind: "ok", value }),
        (): InvocationOutcome => ({ kind: "error" }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function isProxyResult(value: unknown): value is APIGatewayProxyResult {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { statusCode, body } = value as Partial<APIGatewayProxyResult>;
  return typeof statusCode === "number" && Number.isInteger(statusCode) && typeof body === "string";
}
