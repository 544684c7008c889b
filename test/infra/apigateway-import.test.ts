/**
 * AWS's import rules (infra/apigateway-import.ts), each on a small hand-made document: what API
 * Gateway ignores or drops is a finding that names its place, and the imported API is what API
 * Gateway would run without it.
 */
import { expect } from "chai";
import { claimsOf, importRestApi, renderGatewayTemplate, userPoolIssuer } from "../../infra/apigateway-import";

const FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:f";
const URI = `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${FUNCTION_ARN}/invocations`;

function proxy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    operationId: "op",
    responses: { "200": { description: "ok" } },
    "x-amazon-apigateway-integration": { type: "aws_proxy", httpMethod: "POST", uri: URI },
    ...extra,
  };
}

function documentWith(
  extra: Record<string, unknown> = {},
  post: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "t", version: "1" },
    paths: { "/things": { post: proxy(post) } },
    components: {
      schemas: { Thing: { type: "object", properties: { name: { type: "string" } } } },
      securitySchemes: { key: { type: "apiKey", name: "x-api-key", in: "header" } },
    },
    ...extra,
  };
}

const pointers = (document: unknown): string[] => importRestApi(document).findings.map((finding) => finding.pointer);

describe("infra: API Gateway's import rules", () => {
  it("imports a clean document without findings: the Lambda proxy, its timeout, its function", () => {
    const { api, findings } = importRestApi(documentWith());
    expect(findings).to.deep.equal([]);
    expect(api.resources).to.deep.equal([
      {
        path: "/things",
        methods: {
          POST: {
            httpMethod: "POST",
            resourcePath: "/things",
            operationId: "op",
            apiKeyRequired: false,
            authorizer: undefined,
            validateBody: false,
            requestModels: {},
            integration: { type: "aws_proxy", functionArn: FUNCTION_ARN, timeoutMs: 29000 },
          },
        },
      },
    ]);
  });

  it("ignores root-level security: only an operation's own security requires a key", () => {
    const rootOnly = importRestApi(documentWith({ security: [{ key: [] }] }));
    expect(rootOnly.findings.map((finding) => finding.pointer)).to.deep.equal(["#/security"]);
    expect(rootOnly.api.resources[0]?.methods.POST?.apiKeyRequired).to.equal(false);
    const perOperation = importRestApi(documentWith({}, { security: [{ key: [] }] }));
    expect(perOperation.findings).to.deep.equal([]);
    expect(perOperation.api.resources[0]?.methods.POST?.apiKeyRequired).to.equal(true);
    const keyless = importRestApi(documentWith({}, { security: [] }));
    expect(keyless.api.resources[0]?.methods.POST?.apiKeyRequired).to.equal(false);
  });

  it("reads a cognito_user_pools authorizer from its security scheme, alone or beside an API key [cognito]", () => {
    const pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123xyz";
    const scheme = (overrides: Record<string, unknown> = {}, authorizer: Record<string, unknown> = {}) => ({
      type: "apiKey",
      name: "Authorization",
      in: "header",
      "x-amazon-apigateway-authtype": "cognito_user_pools",
      "x-amazon-apigateway-authorizer": { type: "cognito_user_pools", providerARNs: [pool], ...authorizer },
      ...overrides,
    });
    const withPool = (poolScheme: Record<string, unknown>, security: unknown) =>
      importRestApi({
        ...documentWith({}, { security }),
        components: {
          schemas: {},
          securitySchemes: { key: { type: "apiKey", name: "x-api-key", in: "header" }, pool: poolScheme },
        },
      });
    const both = withPool(scheme(), [{ key: [], pool: [] }]);
    expect(both.findings).to.deep.equal([]);
    expect(both.api.resources[0]?.methods.POST).to.deep.include({
      apiKeyRequired: true,
      authorizer: { providerArns: [pool], header: "Authorization" },
    });
    const alone = withPool(scheme(), [{ pool: [] }]);
    expect(alone.api.resources[0]?.methods.POST).to.deep.include({
      apiKeyRequired: false,
      authorizer: { providerArns: [pool], header: "Authorization" },
    });
    for (const broken of [
      scheme({ "x-amazon-apigateway-authtype": "custom" }),
      scheme({ in: "query" }),
      scheme({}, { type: "token" }),
      scheme({}, { providerARNs: [] }),
      scheme({}, { providerARNs: ["arn:aws:cognito-idp:eu-west-1:123456789012:identitypool/x"] }),
      scheme({}, { providerARNs: "not a list" }),
    ]) {
      const imported = withPool(broken, [{ pool: [] }]);
      expect(imported.findings.map((finding) => finding.rule)).to.include("cognito");
      expect(imported.api.resources[0]?.methods.POST?.authorizer).to.equal(undefined);
    }
    // Two requirements would let either one through; the body states one with both schemes.
    expect(withPool(scheme(), [{ key: [] }, { pool: [] }]).findings.map((finding) => finding.pointer)).to.deep.equal([
      "#/paths/~1things/post/security",
    ]);
  });

  it("takes a pool's issuer from its ARN, and passes claims on as strings [tokens] [proxy]", () => {
    expect(userPoolIssuer("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123xyz")).to.equal(
      "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz",
    );
    expect(userPoolIssuer("arn:aws:iam::123456789012:role/x")).to.equal(undefined);
    expect(claimsOf({ sub: "s", exp: 1700000000, email_verified: true, "cognito:groups": ["a", "b"] })).to.deep.equal({
      sub: "s",
      exp: "1700000000",
      email_verified: "true",
      "cognito:groups": "a,b",
    });
  });

  it("accepts only apiKey security schemes, read from x-api-key", () => {
    const document = documentWith();
    (document.components as Record<string, unknown>).securitySchemes = {
      basic: { type: "http", scheme: "basic" },
      query: { type: "apiKey", name: "key", in: "query" },
    };
    expect(pointers(document)).to.deep.equal([
      "#/components/securitySchemes/basic",
      "#/components/securitySchemes/query",
    ]);
  });

  it("drops model keywords that OpenAPI 3.0 and draft 4 do not share, or that API Gateway does not support", () => {
    const document = documentWith();
    (document.components as { schemas: Record<string, unknown> }).schemas = {
      Thing: {
        $schema: "http://json-schema.org/draft-04/schema#",
        type: "object",
        properties: {
          name: { type: ["string", "null"] },
          note: { type: "string", nullable: true, default: "", example: "x" },
          count: { type: "integer", format: "int32", exclusiveMinimum: true, minimum: 0 },
          tags: { type: "array", minItems: 1, maxItems: 3, items: { type: "string", readOnly: true } },
          either: { anyOf: [{ type: "string" }, { enum: [null] }] },
          one: { oneOf: [{ type: "integer" }], discriminator: { propertyName: "kind" } },
        },
        patternProperties: { "^[a-z]+$": {} },
        additionalProperties: false,
        "x-note": "extensions are annotations",
      },
    };
    const { api, findings } = importRestApi(document);
    expect(findings.map((finding) => finding.pointer)).to.deep.equal([
      "#/components/schemas/Thing/$schema",
      "#/components/schemas/Thing/properties/name/type",
      "#/components/schemas/Thing/properties/note/nullable",
      "#/components/schemas/Thing/properties/note/default",
      "#/components/schemas/Thing/properties/note/example",
      "#/components/schemas/Thing/properties/count/format",
      "#/components/schemas/Thing/properties/count/exclusiveMinimum",
      "#/components/schemas/Thing/properties/tags/minItems",
      "#/components/schemas/Thing/properties/tags/maxItems",
      "#/components/schemas/Thing/properties/tags/items/readOnly",
      "#/components/schemas/Thing/properties/either/anyOf",
      "#/components/schemas/Thing/properties/one/oneOf",
      "#/components/schemas/Thing/properties/one/discriminator",
      "#/components/schemas/Thing/patternProperties",
      "#/components/schemas/Thing/additionalProperties",
    ]);
    // What remains is what API Gateway validates with: no pattern, no choice, any other property.
    expect(api.models.Thing).to.deep.equal({
      type: "object",
      properties: {
        name: {},
        note: { type: "string" },
        count: { type: "integer", minimum: 0 },
        tags: { type: "array", items: { type: "string" } },
        either: {},
        one: {},
      },
    });
  });

  it("keeps the keywords both dialects share, references between models included", () => {
    const document = documentWith();
    (document.components as { schemas: Record<string, unknown> }).schemas = {
      Thing: {
        title: "Thing",
        description: "d",
        type: "object",
        required: ["name"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 5, pattern: "^[a-z]+$", enum: ["ab", "cd"] },
          size: { type: "number", multipleOf: 0.5, maximum: 9, exclusiveMaximum: true },
          all: { allOf: [{ $ref: "#/components/schemas/Other" }], not: { type: "boolean" } },
          list: { type: "array", uniqueItems: true, items: { type: "integer" } },
        },
        minProperties: 1,
        maxProperties: 9,
      },
      Other: { type: "object" },
    };
    const { api, findings } = importRestApi(document);
    expect(findings).to.deep.equal([]);
    expect(api.models).to.deep.equal((document.components as { schemas: unknown }).schemas);
    (document.components as { schemas: Record<string, Record<string, unknown>> }).schemas.Other = {
      $ref: "#/definitions/X",
    };
    expect(pointers(document)).to.deep.equal(["#/components/schemas/Other/$ref"]);
  });

  it("validates only the media types a request body declares, each by its model", () => {
    const post = {
      requestBody: {
        content: {
          "application/json": { schema: { $ref: "#/components/schemas/Thing" } },
          "text/plain": { schema: { type: "string" } },
        },
      },
      "x-amazon-apigateway-request-validator": "body",
    };
    const document = documentWith(
      {
        "x-amazon-apigateway-request-validators": {
          body: { validateRequestBody: true, validateRequestParameters: false },
        },
      },
      post,
    );
    const { api, findings } = importRestApi(document);
    expect(findings.map((finding) => finding.pointer)).to.deep.equal([
      "#/paths/~1things/post/requestBody/content/text~1plain/schema",
    ]);
    expect(api.resources[0]?.methods.POST).to.include({ validateBody: true });
    expect(api.resources[0]?.methods.POST?.requestModels).to.deep.equal({ "application/json": "Thing" });
    const unknownValidator = documentWith({}, { "x-amazon-apigateway-request-validator": "none-such" });
    expect(pointers(unknownValidator)).to.deep.equal(["#/paths/~1things/post/x-amazon-apigateway-request-validator"]);
  });

  it("applies an API-level request validator to every method that names none", () => {
    const document = documentWith({
      "x-amazon-apigateway-request-validators": { all: { validateRequestBody: true } },
      "x-amazon-apigateway-request-validator": "all",
    });
    expect(importRestApi(document).api.resources[0]?.methods.POST?.validateBody).to.equal(true);
  });

  it("refuses a REQUEST_TOO_LARGE gateway response: API Gateway answers its own 413", () => {
    const document = documentWith({
      "x-amazon-apigateway-gateway-responses": {
        REQUEST_TOO_LARGE: { statusCode: "413", responseTemplates: { "application/json": "{}" } },
        NOT_A_TYPE: {},
        THROTTLED: {
          statusCode: "429",
          responseTemplates: { "application/json": '{"id":"$context.extendedRequestId"}' },
        },
      },
    });
    const { api, findings } = importRestApi(document);
    expect(findings.map((finding) => finding.pointer)).to.deep.equal([
      "#/x-amazon-apigateway-gateway-responses/REQUEST_TOO_LARGE",
      "#/x-amazon-apigateway-gateway-responses/NOT_A_TYPE",
    ]);
    expect(Object.keys(api.gatewayResponses)).to.deep.equal(["THROTTLED"]);
  });

  it("refuses gateway templates with a variable that can break the JSON (substituted unescaped)", () => {
    const template =
      '{"message":$context.error.messageString,"why":"$context.error.validationErrorString","id":"$context.requestId"}';
    const document = documentWith({
      "x-amazon-apigateway-gateway-responses": {
        BAD_REQUEST_BODY: { responseTemplates: { "application/json": template } },
      },
    });
    const findings = importRestApi(document).findings;
    expect(findings.map((finding) => finding.message.split(" ")[0])).to.deep.equal([
      "$context.error.messageString",
      "$context.error.validationErrorString",
      "$context.requestId",
    ]);
    // Why: a validator message with quotes, as API Gateway's carry, breaks it.
    const rendered = renderGatewayTemplate(template, {
      "error.messageString": '"Invalid request body"',
      "error.validationErrorString": 'object has missing required properties (["name"])',
      requestId: "r",
    });
    expect(() => JSON.parse(rendered)).to.throw(SyntaxError);
  });

  it("maps gateway response headers from static values and method request parameters only", () => {
    const document = documentWith({
      "x-amazon-apigateway-gateway-responses": {
        DEFAULT_4XX: {
          responseParameters: {
            "gatewayresponse.header.A": "'static'",
            "gatewayresponse.header.B": "method.request.header.Origin",
            "gatewayresponse.header.C": "context.requestId",
          },
        },
      },
    });
    const { api, findings } = importRestApi(document);
    expect(findings.map((finding) => finding.pointer)).to.deep.equal([
      "#/x-amazon-apigateway-gateway-responses/DEFAULT_4XX/responseParameters/gatewayresponse.header.C",
    ]);
    expect(api.gatewayResponses.DEFAULT_4XX?.headers).to.deep.equal({
      A: { kind: "static", value: "static" },
      B: { kind: "request", location: "header", name: "Origin" },
    });
  });

  it("needs a mock's mapped headers declared in its method response", () => {
    const mock = {
      responses: { "405": { description: "no", headers: { Allow: { schema: { type: "string" } } } } },
      "x-amazon-apigateway-integration": {
        type: "mock",
        passthroughBehavior: "never",
        requestTemplates: { "application/json": '{"statusCode": 405}' },
        responses: {
          default: {
            statusCode: "405",
            responseParameters: {
              "method.response.header.Allow": "'GET'",
              "method.response.header.x-request-id": "context.extendedRequestId",
            },
          },
        },
      },
    };
    const document = documentWith();
    (document.paths as Record<string, Record<string, unknown>>)["/things"] = {
      "x-amazon-apigateway-any-method": mock,
    };
    const { api, findings } = importRestApi(document);
    expect(findings.map((finding) => finding.message)).to.deep.equal([
      "the method response for 405 does not declare the header x-request-id",
    ]);
    expect(api.resources[0]?.methods.ANY?.integration).to.deep.include({ type: "mock", passthroughBehavior: "never" });
  });

  it("holds integration timeouts to 50 ms .. 29 s and paths to API Gateway's characters", () => {
    const slow = documentWith(
      {},
      {
        "x-amazon-apigateway-integration": { type: "aws_proxy", httpMethod: "POST", uri: URI, timeoutInMillis: 30000 },
      },
    );
    expect(pointers(slow)).to.deep.equal(["#/paths/~1things/post/x-amazon-apigateway-integration/timeoutInMillis"]);
    const document = documentWith();
    (document.paths as Record<string, unknown>)["/things/a{b}"] = { get: proxy() };
    (document.paths as Record<string, unknown>)["/things/{id}/x y"] = { get: proxy() };
    expect(pointers(document)).to.deep.equal(["#/paths/~1things~1a{b}", "#/paths/~1things~1{id}~1x y"]);
  });

  it("names model names that are not alphanumeric, and integrations the local runtime cannot run", () => {
    const document = documentWith(
      {},
      { "x-amazon-apigateway-integration": { type: "http_proxy", uri: "https://example.com" } },
    );
    (document.components as { schemas: Record<string, unknown> }).schemas = { "Bad-Name": { type: "object" } };
    expect(pointers(document)).to.deep.equal([
      "#/components/schemas/Bad-Name",
      "#/paths/~1things/post/x-amazon-apigateway-integration/type",
    ]);
  });
});
