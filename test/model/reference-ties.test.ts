/**
 * The reference model restates the contract's limits and tables instead of importing them (an
 * oracle computed from the code's own tables proves nothing). These checks tie the restated
 * copies to the code's, so that a limit changed on one side only is caught here, by name, rather
 * than as a puzzling model-based failure.
 */
import { expect } from "chai";
import { ERROR_STATUS, RETRY_AFTER_SECONDS } from "../../handlers/errors";
import { SECURITY_HEADERS, WWW_AUTHENTICATE as CODE_WWW_AUTHENTICATE } from "../../handlers/headers";
import { ITEM_FIELDS, QUERY_PARAMETERS, READ_ONLY_FIELDS as CODE_READ_ONLY } from "../../handlers/fields";
import { ATTRIBUTE_NAME_PATTERN, FORBIDDEN_KEYS as CODE_FORBIDDEN_KEYS, LIMITS } from "../../handlers/model";
import { IDEMPOTENCY_TTL_SECONDS } from "../../handlers/operations";
import { MAX_BODY_BYTES, MAX_IF_MATCH_TAGS } from "../../handlers/request";
import { allowedMethods as codeAllowedMethods, routesByPath } from "../../infra/routes";
import Ajv from "ajv-draft-04";
import { gatewayModelOf } from "../../infra/apigateway-openapi";
import { itemPatchSchema, newItemSchema } from "../../infra/schemas";
import { readStackSettings } from "../../local/stack-settings";
import {
  ATTRIBUTE_NAME,
  EVERY_RESPONSE_HEADERS,
  FORBIDDEN_KEYS,
  Json,
  MODEL_ERROR_STATUS,
  MODEL_LIMITS,
  READ_ONLY_FIELDS,
  STACK_PROFILES,
  WWW_AUTHENTICATE,
  allowedMethods,
  gatewayModelAccepts,
} from "./reference";

describe("reference model: its restated facts match the code's", () => {
  it("the item limits, the body limit, pages, the Idempotency-Key window and If-Match's tag limit", () => {
    expect({
      nameMaxCharacters: ITEM_FIELDS.name.maxLength,
      descriptionMaxCharacters: ITEM_FIELDS.description.maxLength,
      maxAttributes: LIMITS.maxAttributes,
      maxDepth: LIMITS.maxDepth,
      maxNestedKeyLength: LIMITS.maxNestedKeyLength,
      maxBodyBytes: MAX_BODY_BYTES,
      defaultPageSize: QUERY_PARAMETERS.limit.fallback,
      maxPageSize: QUERY_PARAMETERS.limit.maximum,
      idempotencyWindowMs: IDEMPOTENCY_TTL_SECONDS * 1000,
      maxConditionTags: MAX_IF_MATCH_TAGS,
      retryAfterSeconds: RETRY_AFTER_SECONDS.request_in_progress,
    }).to.deep.equal({
      nameMaxCharacters: MODEL_LIMITS.nameMaxCharacters,
      descriptionMaxCharacters: MODEL_LIMITS.descriptionMaxCharacters,
      maxAttributes: MODEL_LIMITS.maxAttributes,
      maxDepth: MODEL_LIMITS.maxDepth,
      maxNestedKeyLength: MODEL_LIMITS.maxNestedKeyLength,
      maxBodyBytes: MODEL_LIMITS.maxBodyBytes,
      defaultPageSize: MODEL_LIMITS.defaultPageSize,
      maxPageSize: MODEL_LIMITS.maxPageSize,
      idempotencyWindowMs: MODEL_LIMITS.idempotencyWindowMs,
      maxConditionTags: MODEL_LIMITS.maxConditionTags,
      retryAfterSeconds: MODEL_LIMITS.retryAfterSeconds,
    });
  });

  it("every error code and its status", () => {
    expect(MODEL_ERROR_STATUS).to.deep.equal(ERROR_STATUS);
  });

  it("attribute names, read-only fields, keys refused anywhere", () => {
    expect(ATTRIBUTE_NAME.source).to.equal(ATTRIBUTE_NAME_PATTERN);
    expect(READ_ONLY_FIELDS).to.deep.equal(CODE_READ_ONLY);
    expect(FORBIDDEN_KEYS).to.deep.equal(CODE_FORBIDDEN_KEYS);
  });

  it("what API Gateway's models check before a function sees the body", () => {
    expect(newItemSchema).to.deep.include({ required: ["name"], maxProperties: MODEL_LIMITS.maxAttributes + 2 });
    const properties = newItemSchema.properties as Record<string, Record<string, unknown>>;
    expect(properties.name).to.include({ type: "string", minLength: 1, maxLength: MODEL_LIMITS.nameMaxCharacters });
    expect(properties.description).to.include({ type: "string", maxLength: MODEL_LIMITS.descriptionMaxCharacters });
    expect(itemPatchSchema).not.to.have.property("maxProperties");
    expect(itemPatchSchema).not.to.have.property("required");
  });

  it("what API Gateway's models accept, as AWS runs them: name and description of every JSON type", () => {
    const ajv = new Ajv({ strict: false });
    const models = {
      NewItem: ajv.compile(gatewayModelOf(newItemSchema) as object),
      ItemPatch: ajv.compile(gatewayModelOf(itemPatchSchema) as object),
    };
    const values: (Json | undefined)[] = [undefined, null, 7, 1.5, true, [], {}, "", "x", "x".repeat(200)];
    values.push("x".repeat(MODEL_LIMITS.nameMaxCharacters + 1), "x".repeat(MODEL_LIMITS.descriptionMaxCharacters + 1));
    const disagreements: string[] = [];
    for (const model of ["NewItem", "ItemPatch"] as const) {
      for (const name of values) {
        for (const description of values) {
          const body = JSON.parse(JSON.stringify({ name, description })) as Json;
          if (gatewayModelAccepts(body, model) !== models[model](body)) {
            disagreements.push(`${model} ${JSON.stringify(body)}: the deployed model says ${models[model](body)}`);
          }
        }
      }
    }
    expect(disagreements).to.deep.equal([]);
  });

  it("the methods each path answers (a 405's Allow)", () => {
    const byPath = routesByPath();
    expect(new Set(codeAllowedMethods(byPath.get("/items") ?? []))).to.deep.equal(
      new Set(allowedMethods("collection")),
    );
    expect(new Set(codeAllowedMethods(byPath.get("/items/{id}") ?? []))).to.deep.equal(new Set(allowedMethods("item")));
  });

  it("the headers every response carries", () => {
    expect(
      Object.fromEntries(Object.entries(SECURITY_HEADERS).map(([name, value]) => [name.toLowerCase(), value])),
    ).to.deep.equal(EVERY_RESPONSE_HEADERS);
  });

  for (const stack of ["dev", "prod"] as const) {
    it(`the ${stack} stack's sign-in, API keys and CORS origins (Pulumi.${stack}.yaml)`, () => {
      const settings = readStackSettings(stack);
      expect({
        signIn: settings.signIn.mode === "cognito",
        apiKeyRequired: settings.apiKeys.required,
        corsAllowedOrigins: settings.corsAllowedOrigins,
      }).to.deep.equal({
        signIn: STACK_PROFILES[stack].signIn,
        apiKeyRequired: STACK_PROFILES[stack].apiKeyRequired,
        corsAllowedOrigins: STACK_PROFILES[stack].corsAllowedOrigins,
      });
    });
  }

  it("the challenge of a 401", () => {
    expect(WWW_AUTHENTICATE).to.equal(CODE_WWW_AUTHENTICATE);
  });
});
