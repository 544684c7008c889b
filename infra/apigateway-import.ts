/**
 * How API Gateway reads a REST API's OpenAPI 3.0 body, and what it does with requests, as AWS
 * documents it. This is the one model of API Gateway in the project: the stack checks its body
 * with it before deploying, and the local runtime (local/gateway.ts) serves requests from what it
 * returns. Every rule names its source, a page of the API Gateway Developer Guide
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/<page>.html):
 *
 * - [notes]       api-gateway-known-issues: "Amazon API Gateway important notes for REST APIs"
 * - [limits]      limits: "Amazon API Gateway quotas and important notes"
 * - [types]       supported-gateway-response-types: "Gateway response types"
 * - [gwresp]      api-gateway-gatewayResponse-definition and the
 *                 api-gateway-swagger-extensions-gateway-responses.* pages
 * - [context]     api-gateway-mapping-template-reference: "$context variables"
 * - [logging]     set-up-logging: "Set up CloudWatch logging for a REST API"
 * - [validation]  api-gateway-method-request-validation, api-gateway-swagger-extensions-request-validator
 * - [passthrough] integration-passthrough-behaviors
 * - [mappings]    request-response-data-mappings
 * - [proxy]       set-up-lambda-proxy-integrations
 * - [any]         api-gateway-swagger-extensions-any-method
 * - [apikey]      api-gateway-api-key-source
 * - [mock]        how-to-mock-integration
 * - [cognito]     apigateway-enable-cognito-user-pool: "Integrate a REST API with an Amazon Cognito
 *                 user pool", and apigateway-invoke-api-integrated-with-cognito-user-pool
 * - [tokens]      Amazon Cognito Developer Guide, amazon-cognito-user-pools-using-the-id-token and
 *                 amazon-cognito-user-pools-using-tokens-verifying-a-jwt
 *
 * `importRestApi` never throws on a document: what API Gateway would ignore or drop comes back as
 * findings, each naming its place in the document (a JSON pointer), and the imported API is what
 * API Gateway would run after dropping it.
 */

export type JsonObject = Record<string, unknown>;

export interface ImportFinding {
  /** JSON pointer into the document, e.g. `#/paths/~1items/post/security`. */
  pointer: string;
  /** Which rule; also the bracketed source above. */
  rule: string;
  message: string;
}

/** Where a mapped header value comes from. */
export type ValueSource =
  | { kind: "static"; value: string }
  | { kind: "request"; location: "header" | "querystring" | "path"; name: string }
  | { kind: "context"; variable: string };

export interface GatewayResponseDefinition {
  statusCode?: number;
  headers: Record<string, ValueSource>;
  /** Body templates by content type: plain `$context` substitution, not VTL [gwresp]. */
  templates: Record<string, string>;
}

export interface ProxyIntegration {
  type: "aws_proxy";
  /** The Lambda function ARN inside the invocation URI. */
  functionArn: string;
  timeoutMs: number;
}

export interface IntegrationResponse {
  /** Regular expression matched against the integration's status; undefined: the default. */
  selectionPattern: string | undefined;
  statusCode: number;
  headers: Record<string, ValueSource>;
  /** VTL templates by content type. */
  templates: Record<string, string>;
}

export interface MockIntegration {
  type: "mock";
  passthroughBehavior: "when_no_match" | "when_no_templates" | "never";
  /** VTL templates by content type; their output's `statusCode` selects the response [mock]. */
  requestTemplates: Record<string, string>;
  responses: IntegrationResponse[];
}

/** A `cognito_user_pools` authorizer on a method [cognito]. */
export interface UserPoolAuthorizer {
  /** The user pools whose tokens it accepts. */
  providerArns: string[];
  /** The request header that carries the token: the security scheme's `name`. */
  header: string;
}

export interface ImportedMethod {
  /** `GET`, `POST`, ..., or `ANY` for `x-amazon-apigateway-any-method`. */
  httpMethod: string;
  resourcePath: string;
  operationId: string | undefined;
  apiKeyRequired: boolean;
  /** The method's Cognito authorizer; undefined: none. */
  authorizer: UserPoolAuthorizer | undefined;
  validateBody: boolean;
  /** Model name by media type (lower case, no parameters). */
  requestModels: Record<string, string>;
  integration: ProxyIntegration | MockIntegration;
}

export interface ImportedResource {
  path: string;
  methods: Record<string, ImportedMethod>;
}

export interface ImportedApi {
  resources: ImportedResource[];
  /** Draft-4 models by name, keeping only what API Gateway keeps. */
  models: Record<string, JsonObject>;
  gatewayResponses: Record<string, GatewayResponseDefinition>;
  apiKeySource: "HEADER" | "AUTHORIZER";
}

// ---------------------------------------------------------------------------------------------
// Limits and runtime rules

/** [limits] "Payload size: 10 MB", not adjustable. */
export const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/**
 * [notes] "Customizing the default gateway response for 413 REQUEST_TOO_LARGE isn't currently
 * supported": over the payload limit API Gateway answers its own 413 with this text, whatever
 * the document says (seen in public reports, e.g. chroma-core/chroma#1458, reapit/foundations#4338).
 */
export const PAYLOAD_TOO_LARGE_TEXT = `HTTP content length exceeded ${MAX_PAYLOAD_BYTES} bytes.`;
/** [limits] Integration timeout: 50 ms to 29 s for every integration type. */
export const INTEGRATION_TIMEOUT_RANGE_MS = { min: 50, max: 29000 } as const;
/**
 * Lambda's quota for a synchronous invocation's payload, request and response alike (Lambda
 * Developer Guide, "Lambda quotas": "6 MB each for request and response (synchronous)"). An event
 * larger than this cannot be delivered: Lambda rejects the invocation. A proxy result larger than
 * this is not returned: the invocation fails after the function ran ("Lambda Customer Function
 * Error: Response payload size exceeded maximum allowed payload size (6291556 bytes)", which API
 * Gateway logs with response type INTEGRATION_FAILURE and answers 502, as reported in
 * DataBiosphere/azul#8258 and #7466). handlers/http.ts MAX_PROXY_RESULT_BYTES keeps results under
 * it (a test ties the two).
 */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/**
 * Status API Gateway gives an invocation Lambda rejects, before the function runs (throttled for
 * concurrency, an event over the payload quota): "If the Lambda API rejects the invocation
 * request, API Gateway returns a 500 error code" (Lambda Developer Guide, "Handling Lambda errors
 * with an API Gateway API"). It reaches the client through the INTEGRATION_FAILURE gateway
 * response ("Lambda 429 now maps to the INTEGRATION_FAILURE API Gateway response", AWS's answer
 * quoted on Stack Overflow 36363280; re:Post "Inconsistencies in response codes depending on
 * whether API Gateway response settings are configured": with INTEGRATION_FAILURE customized, a
 * function over its concurrency limit answers that response's status).
 */
export const INVOKE_REJECTED_STATUS = 500;
/**
 * Status API Gateway answers when a Lambda proxy integration fails after the function ran: it
 * throws, runs past its own timeout, returns something that is not a proxy result ([proxy]: "If
 * the function output is of a different format, API Gateway returns a 502 Bad Gateway error
 * response"), or a result over the payload quota. Also through INTEGRATION_FAILURE.
 */
export const FUNCTION_ERROR_STATUS = 502;
/** [types] INTEGRATION_TIMEOUT: the integration ran past its timeout (at most 29 s). */
export const INTEGRATION_TIMEOUT_STATUS = 504;
/** [context] "$context.httpMethod ... Valid values include: DELETE, GET, HEAD, OPTIONS, PATCH, POST, and PUT". */
export const HTTP_METHODS: readonly string[] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];
/**
 * [notes] "When sending requests to an API by passing the X-HTTP-Method-Override header, API
 * Gateway overrides the method."
 */
export const METHOD_OVERRIDE_HEADER = "x-http-method-override";
/** [apikey] With the HEADER source, clients send the key in this header. */
export const API_KEY_HEADER = "x-api-key";
/**
 * [cognito] "if the OAuth Scopes option isn't specified, API Gateway treats the supplied token as
 * an identity token": a method without scopes (as every method here) accepts the ID token, which
 * Cognito marks with `token_use` "id" [tokens]. The authorizer "verifies the claimed identity
 * against the one from the user pool": a token signed with the pool's keys (its JWKS), not
 * expired, issued by the pool. It does not compare `aud` with the pool's app clients (only an
 * optional identityValidationExpression would), so the functions do (handlers/caller.ts). The
 * token goes in the header as it is ("Include the token in the Authorization header"); the docs
 * never mention a `Bearer ` prefix, and public reports conflict on it, so only the bare token is
 * taken here.
 */
export const USER_POOL_TOKEN_USE = "id";
/**
 * [proxy] With a `COGNITO_USER_POOLS` authorizer the event's request context "includes
 * `$context.authorizer.claims.*` properties": `requestContext.authorizer.claims`. The docs do not
 * type the values; API Gateway passes them as strings (lists joined by commas, as public reports
 * show for `cognito:groups`), and so does the local gateway.
 */
export function claimsOf(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.map(String).join(",") : typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}
/** [tokens] The issuer (`iss`) of a user pool's tokens: "https://cognito-idp.{region}.amazonaws.com/{userPoolId}". */
export function userPoolIssuer(userPoolArn: string): string | undefined {
  const match = USER_POOL_ARN.exec(userPoolArn);
  return match === null ? undefined : `https://cognito-idp.${match[1]}.amazonaws.com/${match[2]}`;
}
/** [cognito] `providerARNs` entries: "arn:aws:cognito-idp:{region}:{account_id}:userpool/{user_pool_id}". */
const USER_POOL_ARN = /^arn:aws[a-z-]*:cognito-idp:([a-z0-9-]+):\d{12}:userpool\/([\w-]+_[0-9a-zA-Z]+)$/;

/** [passthrough] A request without Content-Type is treated as `application/json`. */
export const DEFAULT_CONTENT_TYPE = "application/json";

/** [types] Every gateway response type with its default status (undefined: the DEFAULT_* fallbacks). */
export const GATEWAY_RESPONSE_TYPES: Readonly<Record<string, number | undefined>> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_PARAMETERS: 400,
  BAD_REQUEST_BODY: 400,
  DEFAULT_4XX: undefined,
  DEFAULT_5XX: undefined,
  EXPIRED_TOKEN: 403,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  INVALID_SIGNATURE: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  RESOURCE_NOT_FOUND: 404,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  WAF_FILTERED: 403,
};

/** API Gateway's own message per response type, `$context.error.message` when nothing overrides it. */
export const GATEWAY_MESSAGES: Readonly<Record<string, string>> = {
  BAD_REQUEST_BODY: "Invalid request body",
  INTEGRATION_FAILURE: "Internal server error",
  INTEGRATION_TIMEOUT: "Endpoint request timed out",
  INVALID_API_KEY: "Forbidden",
  MISSING_AUTHENTICATION_TOKEN: "Missing Authentication Token",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported Media Type",
};

/**
 * `$context` variables a gateway response template may hold inside a JSON string: values API
 * Gateway generates from a fixed alphabet, which no caller can choose. Gateway response
 * templates are plain substitution, nothing is escaped [gwresp], so any other variable (the
 * error message, the validator's text with its double quotes, the path, a request id a client
 * may override [logging]) could break the JSON. Each entry gives the characters it can hold.
 */
export const TEMPLATE_SAFE_VARIABLES: Readonly<Record<string, { source: string; alphabet: RegExp }>> = {
  // [logging] "$context.extendedRequestId is a unique ID that API Gateway generates ... An API
  // caller can't provide or override this request ID"; returned in x-amz-apigw-id (base64).
  extendedRequestId: { source: "logging", alphabet: /^[A-Za-z0-9+/=_-]+$/ },
  // [types] one of the response type names.
  "error.responseType": { source: "types", alphabet: /^[A-Z0-9_]+$/ },
  // [notes] "Stage names can only contain alphanumeric characters, hyphens, and underscores".
  stage: { source: "notes", alphabet: /^[A-Za-z0-9_-]+$/ },
  // [notes] path segments: alphanumerics, underscores, hyphens, periods, commas, colons, braces.
  resourcePath: { source: "notes", alphabet: /^[A-Za-z0-9_.,:{}/-]+$/ },
  // [context] the valid values of $context.httpMethod.
  httpMethod: { source: "context", alphabet: /^[A-Z]+$/ },
};

/**
 * Schema keywords a model keeps: those OpenAPI 3.0's Schema Object and JSON Schema draft 4 both
 * have, with one meaning [notes: "API Gateway models are defined using JSON schema draft 4"],
 * less what [notes] says models do not support. In the words of the REST APIs section of [notes]
 * (also in the page's source, awsdocs/amazon-api-gateway-developer-guide,
 * doc_source/api-gateway-known-issues.md): "The `additionalProperties` and `anyOf` fields are not
 * supported in Models", "`oneOf` is not supported by API Gateway", "The `discriminator` parameter
 * is not supported in any schema object", "The `example` tag is not supported",
 * "`exclusiveMinimum` is not supported by API Gateway", "The `readOnly` field is not supported",
 * "Numbers of the `Int32` or `Int64` type are not supported", "Decimal number format type
 * (`"format": "decimal"`) is not supported", and "The `maxItems` and `minItems` tags are not
 * included in simple request validation". A model that relies on one of them would be checked
 * less by API Gateway than by a validator that honours it, so the importer drops each with a
 * finding. Left out besides, each with its reason:
 * - patternProperties, dependencies, $schema, id, definitions: draft 4 only (OpenAPI 3.0 lacks them);
 * - nullable, writeOnly, xml, externalDocs, deprecated: OpenAPI 3.0 only (deprecated is also
 *   "not supported and is dropped in exported APIs");
 * - default: an annotation no validator reads.
 * `type` must be one name (OpenAPI 3.0 has no type arrays); `format` stays an annotation, but
 * not int32, int64 or decimal.
 */
export const MODEL_KEYWORDS: ReadonlySet<string> = new Set([
  "$ref",
  "title",
  "description",
  "type",
  "format",
  "enum",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "maxLength",
  "minLength",
  "pattern",
  "items",
  "uniqueItems",
  "maxProperties",
  "minProperties",
  "required",
  "properties",
  "allOf",
  "not",
]);
const UNSUPPORTED_FORMATS = new Set(["int32", "int64", "decimal"]);
const SCHEMA_TYPES = new Set(["string", "number", "integer", "boolean", "array", "object"]);

/** Keywords whose value is a schema, an array of schemas, or a map of schemas. */
const SUBSCHEMA = {
  single: ["items", "not"],
  list: ["allOf"],
  map: ["properties"],
};

// ---------------------------------------------------------------------------------------------
// The importer

const pointerPart = (part: string): string => part.replace(/~/g, "~0").replace(/\//g, "~1");
const pointerOf = (...parts: string[]): string => `#/${parts.map(pointerPart).join("/")}`;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const OPERATION_KEYS = ["get", "put", "post", "delete", "options", "head", "patch"];
const ANY_METHOD = "x-amazon-apigateway-any-method";
/** [notes] path segments: alphanumerics, `_ - . , :` and braces; a parameter is a whole segment. */
const PATH_SEGMENT = /^(?:[A-Za-z0-9_.,:-]+|\{[A-Za-z0-9_]+\})$/;
/** [notes] "Model names can only contain alphanumeric characters". */
const MODEL_NAME = /^[A-Za-z0-9]+$/;
const MODEL_REF = /^#\/components\/schemas\/([^/]+)$/;

class Importer {
  readonly findings: ImportFinding[] = [];
  constructor(readonly document: JsonObject) {}

  find(pointer: string, rule: string, message: string): void {
    this.findings.push({ pointer, rule, message });
  }

  run(): ImportedApi {
    const document = this.document;
    if (typeof document.openapi !== "string" || !document.openapi.startsWith("3.0.")) {
      this.find("#/openapi", "notes", "the local interpreter reads OpenAPI 3.0 documents only");
    }
    if (document.security !== undefined) {
      this.find(
        "#/security",
        "notes",
        "root-level security is ignored: API Gateway doesn't use root level security defined in the OpenAPI specification; state it on each operation",
      );
    }
    const components = isObject(document.components) ? document.components : {};
    const models = this.models(components);
    const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
    for (const [name, scheme] of Object.entries(schemes)) {
      const pointer = pointerOf("components", "securitySchemes", name);
      if (!isObject(scheme) || scheme.type !== "apiKey") {
        this.find(pointer, "notes", "the securitySchemes type, if used, must be apiKey");
      } else if (scheme["x-amazon-apigateway-authtype"] !== undefined) {
        this.userPoolAuthorizer(scheme, pointer);
      } else if (scheme.in !== "header" || String(scheme.name).toLowerCase() !== API_KEY_HEADER) {
        this.find(pointer, "apikey", `API keys from the HEADER source are read from ${API_KEY_HEADER}`);
      }
    }
    const validators = this.validators();
    const resources = Object.entries(isObject(document.paths) ? document.paths : {}).map(([path, item]) =>
      this.resource(path, item, models, validators, schemes),
    );
    const source = document["x-amazon-apigateway-api-key-source"];
    return {
      resources,
      models,
      gatewayResponses: this.gatewayResponses(),
      apiKeySource: source === "AUTHORIZER" ? "AUTHORIZER" : "HEADER",
    };
  }

  models(components: JsonObject): Record<string, JsonObject> {
    const schemas = isObject(components.schemas) ? components.schemas : {};
    return Object.fromEntries(
      Object.entries(schemas).map(([name, schema]) => {
        const pointer = pointerOf("components", "schemas", name);
        if (!MODEL_NAME.test(name)) {
          this.find(pointer, "notes", "model names can only contain alphanumeric characters");
        }
        return [name, this.model(schema, pointer, Object.keys(schemas))];
      }),
    );
  }

  /** The model API Gateway keeps: unsupported keywords dropped, each drop a finding. */
  model(schema: unknown, pointer: string, modelNames: string[]): JsonObject {
    if (!isObject(schema)) {
      this.find(pointer, "notes", "a model must be a schema object");
      return {};
    }
    const kept: JsonObject = {};
    for (const [keyword, value] of Object.entries(schema)) {
      const at = `${pointer}/${pointerPart(keyword)}`;
      if (keyword.startsWith("x-")) {
        continue; // Specification extensions annotate; no validator reads them.
      }
      if (!MODEL_KEYWORDS.has(keyword)) {
        this.find(
          at,
          "notes",
          `the model keyword ${keyword} is dropped: it does not mean the same in OpenAPI 3.0 and JSON Schema draft 4, or API Gateway does not support it`,
        );
        continue;
      }
      if (keyword === "type" && (typeof value !== "string" || !SCHEMA_TYPES.has(value))) {
        this.find(at, "notes", "type must be one of OpenAPI 3.0's type names (no type arrays, no null)");
        continue;
      }
      if (keyword === "format" && typeof value === "string" && UNSUPPORTED_FORMATS.has(value)) {
        this.find(at, "notes", `format ${value} is not supported`);
        continue;
      }
      if (keyword === "$ref") {
        const target = typeof value === "string" ? MODEL_REF.exec(value)?.[1] : undefined;
        if (target === undefined || !modelNames.includes(target)) {
          this.find(at, "notes", "a model may only reference another model (#/components/schemas/Name)");
          continue;
        }
      }
      kept[keyword] = this.subschemas(keyword, value, at, modelNames);
    }
    return kept;
  }

  subschemas(keyword: string, value: unknown, pointer: string, modelNames: string[]): unknown {
    if (SUBSCHEMA.single.includes(keyword) && isObject(value)) {
      return this.model(value, pointer, modelNames);
    }
    if (SUBSCHEMA.list.includes(keyword) && Array.isArray(value)) {
      return value.map((member, index) => this.model(member, `${pointer}/${index}`, modelNames));
    }
    if (SUBSCHEMA.map.includes(keyword) && isObject(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([name, member]) => [
          name,
          this.model(member, `${pointer}/${pointerPart(name)}`, modelNames),
        ]),
      );
    }
    return value;
  }

  validators(): { byName: Record<string, boolean>; apiDefault: string | undefined } {
    const declared = this.document["x-amazon-apigateway-request-validators"];
    const byName: Record<string, boolean> = {};
    for (const [name, validator] of Object.entries(isObject(declared) ? declared : {})) {
      byName[name] = isObject(validator) && validator.validateRequestBody === true;
    }
    const apiDefault = this.document["x-amazon-apigateway-request-validator"];
    return { byName, apiDefault: typeof apiDefault === "string" ? apiDefault : undefined };
  }

  resource(
    path: string,
    item: unknown,
    models: Record<string, JsonObject>,
    validators: { byName: Record<string, boolean>; apiDefault: string | undefined },
    schemes: JsonObject,
  ): ImportedResource {
    const pathPointer = pointerOf("paths", path);
    if (
      !path.startsWith("/") ||
      !path
        .slice(1)
        .split("/")
        .every((segment) => path === "/" || PATH_SEGMENT.test(segment))
    ) {
      this.find(
        pathPointer,
        "notes",
        "path segments can only contain alphanumerics, _ - . , : and braces, and a path parameter must be a whole segment",
      );
    }
    const methods: Record<string, ImportedMethod> = {};
    for (const [key, operation] of Object.entries(isObject(item) ? item : {})) {
      const httpMethod = key === ANY_METHOD ? "ANY" : OPERATION_KEYS.includes(key) ? key.toUpperCase() : undefined;
      if (httpMethod === undefined || !isObject(operation)) {
        continue;
      }
      const pointer = `${pathPointer}/${pointerPart(key)}`;
      const integration = this.integration(operation, pointer);
      if (integration === undefined) {
        continue;
      }
      const validatorName = operation["x-amazon-apigateway-request-validator"] ?? validators.apiDefault;
      if (typeof validatorName === "string" && !(validatorName in validators.byName)) {
        this.find(
          `${pointer}/x-amazon-apigateway-request-validator`,
          "validation",
          `no request validator named ${validatorName}`,
        );
      }
      methods[httpMethod] = {
        httpMethod,
        resourcePath: path,
        operationId: typeof operation.operationId === "string" ? operation.operationId : undefined,
        ...this.security(operation.security, schemes, `${pointer}/security`),
        validateBody: typeof validatorName === "string" && validators.byName[validatorName] === true,
        requestModels: this.requestModels(operation.requestBody, models, `${pointer}/requestBody`),
        integration,
      };
    }
    return { path, methods };
  }

  /**
   * [cognito] A user pool scheme: `type: apiKey`, the token's header as `name`,
   * `x-amazon-apigateway-authtype: cognito_user_pools` and an `x-amazon-apigateway-authorizer` of
   * type `cognito_user_pools` listing the pools' ARNs. Undefined, with a finding, when it is not.
   */
  userPoolAuthorizer(scheme: JsonObject, pointer: string): UserPoolAuthorizer | undefined {
    const authorizer = scheme["x-amazon-apigateway-authorizer"];
    const arns = isObject(authorizer) && Array.isArray(authorizer.providerARNs) ? authorizer.providerARNs : [];
    if (
      scheme["x-amazon-apigateway-authtype"] !== "cognito_user_pools" ||
      !isObject(authorizer) ||
      authorizer.type !== "cognito_user_pools" ||
      scheme.in !== "header" ||
      typeof scheme.name !== "string" ||
      arns.length === 0 ||
      !arns.every((arn) => typeof arn === "string" && USER_POOL_ARN.test(arn))
    ) {
      this.find(
        pointer,
        "cognito",
        "a user pool scheme is an apiKey scheme in a header with x-amazon-apigateway-authtype cognito_user_pools and an x-amazon-apigateway-authorizer of type cognito_user_pools whose providerARNs are user pool ARNs",
      );
      return undefined;
    }
    return { providerArns: arns.map(String), header: scheme.name };
  }

  /** [notes] security applies per operation; every scheme of a requirement must hold. */
  security(
    security: unknown,
    schemes: JsonObject,
    pointer: string,
  ): { apiKeyRequired: boolean; authorizer: UserPoolAuthorizer | undefined } {
    if (security === undefined) {
      return { apiKeyRequired: false, authorizer: undefined };
    }
    if (!Array.isArray(security)) {
      this.find(pointer, "notes", "security must be a list of requirements");
      return { apiKeyRequired: false, authorizer: undefined };
    }
    if (security.length > 1) {
      this.find(
        pointer,
        "notes",
        "a method takes one security requirement here (one object naming each scheme it needs)",
      );
    }
    let apiKeyRequired = false;
    let authorizer: UserPoolAuthorizer | undefined;
    for (const name of Object.keys(isObject(security[0]) ? security[0] : {})) {
      const scheme = schemes[name];
      if (!isObject(scheme)) {
        this.find(pointer, "notes", `security names ${name}, which securitySchemes does not declare`);
      } else if (scheme["x-amazon-apigateway-authtype"] !== undefined) {
        authorizer = this.userPoolAuthorizer(scheme, pointer);
      } else if (scheme.type === "apiKey") {
        apiKeyRequired = true;
      }
    }
    return { apiKeyRequired, authorizer };
  }

  requestModels(requestBody: unknown, models: Record<string, JsonObject>, pointer: string): Record<string, string> {
    const content = isObject(requestBody) && isObject(requestBody.content) ? requestBody.content : {};
    const byType: Record<string, string> = {};
    for (const [mediaType, media] of Object.entries(content)) {
      const ref = isObject(media) && isObject(media.schema) ? media.schema.$ref : undefined;
      const name = typeof ref === "string" ? MODEL_REF.exec(ref)?.[1] : undefined;
      if (name === undefined || models[name] === undefined) {
        this.find(
          `${pointer}/content/${pointerPart(mediaType)}/schema`,
          "validation",
          "a request body schema must reference a model (#/components/schemas/Name)",
        );
        continue;
      }
      byType[mediaType.toLowerCase()] = name;
    }
    return byType;
  }

  integration(operation: JsonObject, pointer: string): ProxyIntegration | MockIntegration | undefined {
    const at = `${pointer}/x-amazon-apigateway-integration`;
    const integration = operation["x-amazon-apigateway-integration"];
    if (!isObject(integration)) {
      this.find(at, "local", "an operation without an integration cannot be served");
      return undefined;
    }
    if (integration.type === "aws_proxy") {
      const uri = typeof integration.uri === "string" ? integration.uri : "";
      const functionArn = /:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/.exec(uri)?.[1];
      const timeoutMs = integration.timeoutInMillis ?? INTEGRATION_TIMEOUT_RANGE_MS.max;
      if (functionArn === undefined || integration.httpMethod !== "POST") {
        this.find(at, "proxy", "a Lambda proxy integration calls the function's invocations URI with POST");
        return undefined;
      }
      if (
        typeof timeoutMs !== "number" ||
        timeoutMs < INTEGRATION_TIMEOUT_RANGE_MS.min ||
        timeoutMs > INTEGRATION_TIMEOUT_RANGE_MS.max
      ) {
        this.find(`${at}/timeoutInMillis`, "limits", "the integration timeout must be 50 to 29,000 ms");
      }
      return {
        type: "aws_proxy",
        functionArn,
        timeoutMs:
          typeof timeoutMs === "number"
            ? Math.min(timeoutMs, INTEGRATION_TIMEOUT_RANGE_MS.max)
            : INTEGRATION_TIMEOUT_RANGE_MS.max,
      };
    }
    if (integration.type === "mock") {
      return this.mock(integration, operation, at);
    }
    this.find(
      `${at}/type`,
      "local",
      `the local runtime serves aws_proxy and mock integrations only, not ${String(integration.type)}`,
    );
    return undefined;
  }

  mock(integration: JsonObject, operation: JsonObject, pointer: string): MockIntegration {
    const behavior = integration.passthroughBehavior ?? "when_no_match";
    const responses = isObject(integration.responses) ? integration.responses : {};
    const declared = isObject(operation.responses) ? operation.responses : {};
    return {
      type: "mock",
      passthroughBehavior: behavior === "never" || behavior === "when_no_templates" ? behavior : "when_no_match",
      requestTemplates: this.templates(integration.requestTemplates),
      responses: Object.entries(responses).map(([pattern, response]) => {
        const at = `${pointer}/responses/${pointerPart(pattern)}`;
        const definition = isObject(response) ? response : {};
        const statusCode = Number(definition.statusCode);
        const methodResponse = declared[String(statusCode)];
        const declaredHeaders =
          isObject(methodResponse) && isObject(methodResponse.headers) ? Object.keys(methodResponse.headers) : [];
        if (!isObject(methodResponse)) {
          this.find(
            at,
            "mappings",
            `the integration response maps to status ${statusCode}, which the method does not declare`,
          );
        }
        const headers: Record<string, ValueSource> = {};
        for (const [target, expression] of Object.entries(
          isObject(definition.responseParameters) ? definition.responseParameters : {},
        )) {
          const name = /^method\.response\.header\.(.+)$/.exec(target)?.[1];
          const source = this.valueSource(expression, ["context"]);
          if (name === undefined || source === undefined) {
            this.find(
              `${at}/responseParameters/${pointerPart(target)}`,
              "mappings",
              "method response headers map from a static value or a $context variable here",
            );
          } else if (!declaredHeaders.includes(name)) {
            this.find(
              `${at}/responseParameters/${pointerPart(target)}`,
              "mappings",
              `the method response for ${statusCode} does not declare the header ${name}`,
            );
          } else {
            headers[name] = source;
          }
        }
        return {
          selectionPattern: pattern === "default" ? undefined : pattern,
          statusCode,
          headers,
          templates: this.templates(definition.responseTemplates),
        };
      }),
    };
  }

  templates(value: unknown): Record<string, string> {
    return Object.fromEntries(
      Object.entries(isObject(value) ? value : {}).filter(
        (entry): entry is [string, string] => typeof entry[1] === "string",
      ),
    );
  }

  /** A mapping expression: `'static'`, `method.request.<location>.<name>` or `context.<variable>` [mappings]. */
  valueSource(expression: unknown, allowed: ("request" | "context")[]): ValueSource | undefined {
    if (typeof expression !== "string") {
      return undefined;
    }
    const literal = /^'(.*)'$/s.exec(expression);
    if (literal?.[1] !== undefined) {
      return { kind: "static", value: literal[1] };
    }
    const request = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(expression);
    if (request?.[1] !== undefined && request[2] !== undefined && allowed.includes("request")) {
      return { kind: "request", location: request[1] as "header" | "querystring" | "path", name: request[2] };
    }
    const context = /^context\.(.+)$/.exec(expression);
    if (context?.[1] !== undefined && allowed.includes("context")) {
      return { kind: "context", variable: context[1] };
    }
    return undefined;
  }

  gatewayResponses(): Record<string, GatewayResponseDefinition> {
    const declared = this.document["x-amazon-apigateway-gateway-responses"];
    const responses: Record<string, GatewayResponseDefinition> = {};
    for (const [type, response] of Object.entries(isObject(declared) ? declared : {})) {
      const pointer = pointerOf("x-amazon-apigateway-gateway-responses", type);
      if (!(type in GATEWAY_RESPONSE_TYPES)) {
        this.find(pointer, "types", `${type} is not a gateway response type`);
        continue;
      }
      if (type === "REQUEST_TOO_LARGE") {
        this.find(
          pointer,
          "notes",
          "customizing the default gateway response for 413 REQUEST_TOO_LARGE isn't supported: API Gateway answers its own 413",
        );
        continue;
      }
      const definition = isObject(response) ? response : {};
      const headers: Record<string, ValueSource> = {};
      for (const [target, expression] of Object.entries(
        isObject(definition.responseParameters) ? definition.responseParameters : {},
      )) {
        const name = /^gatewayresponse\.header\.(.+)$/.exec(target)?.[1];
        const source = this.valueSource(expression, ["request"]);
        if (name === undefined || source === undefined) {
          this.find(
            `${pointer}/responseParameters/${pointerPart(target)}`,
            "gwresp",
            "gateway response headers map from a static value or a method request parameter",
          );
        } else {
          headers[name] = source;
        }
      }
      const templates = this.templates(definition.responseTemplates);
      for (const [contentType, template] of Object.entries(templates)) {
        for (const variable of templateVariables(template)) {
          if (!(variable in TEMPLATE_SAFE_VARIABLES)) {
            this.find(
              `${pointer}/responseTemplates/${pointerPart(contentType)}`,
              "gwresp",
              `$context.${variable} is substituted as it is, unescaped: its value can break the JSON (use only ${Object.keys(TEMPLATE_SAFE_VARIABLES).join(", ")})`,
            );
          }
        }
      }
      const statusCode = definition.statusCode === undefined ? undefined : Number(definition.statusCode);
      responses[type] = { ...(statusCode === undefined ? {} : { statusCode }), headers, templates };
    }
    return responses;
  }
}

/** The `$context.*` variables a gateway response template names. */
export function templateVariables(template: string): string[] {
  return [...template.matchAll(/\$context\.([A-Za-z0-9_.]*[A-Za-z0-9_])/g)].map((match) => match[1] ?? "");
}

export function importRestApi(document: unknown): { api: ImportedApi; findings: ImportFinding[] } {
  const importer = new Importer(isObject(document) ? document : {});
  const api = importer.run();
  return { api, findings: importer.findings };
}

/** One line per finding, for an error message. */
export function describeFindings(findings: readonly ImportFinding[]): string {
  return findings.map((finding) => `${finding.pointer}: ${finding.message} [${finding.rule}]`).join("\n");
}

/**
 * A gateway response template rendered as API Gateway does: each `$context.<variable>` replaced by
 * its value as it is [gwresp]. Unknown variables become empty, as in a template with `$!`.
 */
export function renderGatewayTemplate(template: string, context: Record<string, string>): string {
  return template.replace(
    /\$context\.([A-Za-z0-9_.]*[A-Za-z0-9_])/g,
    (_match, variable: string) => context[variable] ?? "",
  );
}
