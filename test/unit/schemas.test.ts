/**
 * The gateway's models against the handlers, on generated bodies, for every route with a body.
 * Both come from one table (handlers/fields.ts) by two derivations: infra/schemas.ts and
 * gatewayModelOf make the models, handlers/model.ts the validation. The model verdict is the
 * deployed REST API body's answer, run by the local gateway (local/gateway.ts, which imports it
 * under AWS's rules); the handler verdict is the route's own handler, built by its factory as a
 * Lambda is, answering or refusing the body. Two properties tie them:
 *
 * 1. Every body the handler accepts passes the model, that is, every body the model refuses the
 *    handler refuses too (otherwise API Gateway would refuse requests the API serves). Bodies of
 *    any shape, the handler-only rules broken or kept.
 * 2. On bodies that keep the rules the models cannot state (LIMITS and its neighbours in
 *    handlers/model.ts), the model accepts only what the handler accepts: it checks each field's
 *    type and range exactly as the handler does, and neither side can loosen a rule alone.
 *
 * So a limit changed in the model alone, or in the handler alone, fails one of the two.
 */
import { createServer } from "http";
import { AddressInfo } from "net";
import { expect } from "chai";
import * as fc from "fast-check";
import Ajv from "ajv-draft-04";
import { CLIENT_FIELD_SPECS, FIELD_SPECS, FieldSpec, READ_ONLY_FIELDS } from "../../handlers/fields";
import { handlerEnvironment } from "../../handlers/env";
import type { ProxyHandler } from "../../handlers/http";
import { ATTRIBUTE_NAME_PATTERN, FORBIDDEN_KEYS, LIMITS } from "../../handlers/model";
import { lambdaInvokeArn, restApiBody } from "../../infra/apigateway-openapi";
import { Route, routes } from "../../infra/routes";
import { importRestApi } from "../../infra/apigateway-import";
import { withEnvironmentSync } from "../../local/environment";
import { createGateway } from "../../local/gateway";
import { readStackSettings } from "../../local/stack-settings";
import { lambdaContext, proxyEvent } from "../support/lambda";
import { withoutSignIn } from "../support/users";

const TABLES = { items: "schemas-items", idempotency: "schemas-idempotency" };
const ID = "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11";
/** Runs per property and route; each run asks the gateway and a handler once. */
const RUNS = 100;

const bodyRoutes = routes.filter((route): route is Route & { requestSchema: NonNullable<Route["requestSchema"]> } =>
  Boolean(route.requestSchema),
);

// --- Arbitraries -----------------------------------------------------------------------------

type Body = unknown;

/** A string of exactly `length` code points, of one or several widths (JSON Schema counts code points). */
const stringOfLength = (length: number): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom("x", "é", "😀", "\u0000"),
      fc.string({ maxLength: Math.min(length, 3), unit: "grapheme-ascii" }),
    )
    .map(([filler, head]) => head + filler.repeat(length - Array.from(head).length));

/** Lengths or values at and around each bound of a range, and anywhere inside it. */
function aroundBounds(min: number, max: number | undefined): fc.Arbitrary<number> {
  const top = max ?? min + 1000;
  return fc.oneof(
    fc.constantFrom(...[min - 1, min, min + 1, top - 1, top, top + 1].filter((value) => value >= 0 || min < 0)),
    fc.integer({ min, max: top }),
  );
}

/** A value of the field's type, in its range or just outside it. */
function typedValue(spec: FieldSpec): fc.Arbitrary<Body> {
  return spec.type === "integer"
    ? fc.oneof(aroundBounds(spec.minimum, spec.maximum), fc.constant(spec.minimum + 0.5))
    : aroundBounds(spec.minLength ?? 0, spec.maxLength).chain(stringOfLength);
}

/** A value the field allows. */
function allowedValue(spec: FieldSpec): fc.Arbitrary<Body> {
  return spec.type === "integer"
    ? fc.integer({ min: spec.minimum, max: spec.maximum ?? spec.minimum + 1000 })
    : fc.integer({ min: spec.minLength ?? 0, max: spec.maxLength ?? 1000 }).chain(stringOfLength);
}

/** A value of any other JSON type. */
const otherType = (spec: FieldSpec): fc.Arbitrary<Body> =>
  fc.oneof(
    fc.constant(null),
    fc.boolean(),
    spec.type === "integer" ? fc.string({ maxLength: 3 }) : fc.integer(),
    fc.constant([]),
    fc.constant({}),
  );

/** JSON an attribute may hold: scalars and shallow containers, numbers an item can store. */
const storableJson: fc.Arbitrary<Body> = fc.letrec<{ value: Body }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.string({ maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(1.5, -2.25, 1e-130, Number.MAX_SAFE_INTEGER),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const attributeName = fc.stringMatching(new RegExp(ATTRIBUTE_NAME_PATTERN));

/** Attributes that keep the handler-only rules: valid names, storable values, no field names. */
const keptAttributes = (maxKeys: number) =>
  fc
    .dictionary(attributeName, storableJson, { maxKeys })
    .map((attributes) =>
      Object.fromEntries(
        Object.entries(attributes).filter(
          ([name]) =>
            !CLIENT_FIELD_SPECS.some(([field]) => field === name) &&
            !READ_ONLY_FIELDS.includes(name) &&
            !FORBIDDEN_KEYS.includes(name),
        ),
      ),
    );

/** Attributes that break a handler-only rule (name, depth, number, nested key). */
const brokenAttribute: fc.Arbitrary<[string, Body]> = fc.oneof(
  fc.tuple(fc.constantFrom("_a", "1a", "a-b", "é", "", "a".repeat(65)), storableJson),
  fc.tuple(attributeName, fc.constantFrom(2 ** 53, 1e-200, [[[[[[[[["deep"]]]]]]]]], { "": 1 }, { constructor: 1 })),
);

/** Many attributes (around the count limit), some of them null (a PATCH's removals do not count). */
const manyAttributes = fc
  .tuple(fc.integer({ min: LIMITS.maxAttributes - 2, max: LIMITS.maxAttributes + 5 }), fc.integer({ min: 0, max: 6 }))
  .map(([count, nulls]) =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`a${index}`, index < nulls ? null : index])),
  );

/** Every client field set, and attributes up to one either side of the count limit. */
const atTheCountLimit = fc
  .tuple(
    fc.record(Object.fromEntries(CLIENT_FIELD_SPECS.map(([name, spec]) => [name, allowedValue(spec)]))),
    fc.integer({ min: -1, max: 1 }),
  )
  .map(([fields, step]) => ({
    ...Object.fromEntries(Array.from({ length: LIMITS.maxAttributes + step }, (_, index) => [`a${index}`, index])),
    ...fields,
  }));

/**
 * A body for a route with a body. `keepHandlerRules`: only bodies that keep the rules the models
 * cannot state (attributes, read-only fields, and in a PATCH the type of a field that may be null).
 */
function bodyArbitrary(patch: boolean, keepHandlerRules: boolean): fc.Arbitrary<Body> {
  const fieldValue = (spec: FieldSpec): fc.Arbitrary<Body> => {
    const nullable = patch && !spec.required;
    if (keepHandlerRules && nullable) {
      return fc.oneof(typedValue(spec), fc.constant(null));
    }
    return fc.oneof({ weight: 4, arbitrary: typedValue(spec) }, { weight: 1, arbitrary: otherType(spec) });
  };
  const fields = fc.record(Object.fromEntries(CLIENT_FIELD_SPECS.map(([name, spec]) => [name, fieldValue(spec)])), {
    requiredKeys: [],
  });
  const object = fc
    .tuple(
      fields,
      fc.oneof(keptAttributes(6), ...(keepHandlerRules ? [] : [manyAttributes])),
      keepHandlerRules
        ? fc.constant({})
        : fc.option(
            fc.oneof(
              brokenAttribute.map(([name, value]) => ({ [name]: value })),
              fc.constantFrom(...READ_ONLY_FIELDS).map((field) => ({ [field]: "x" })),
            ),
            { nil: {} },
          ),
    )
    .map(([own, attributes, extra]) => ({ ...attributes, ...extra, ...own }));
  return fc.oneof(
    { weight: 12, arbitrary: object },
    { weight: keepHandlerRules ? 0 : 2, arbitrary: atTheCountLimit },
    { weight: 1, arbitrary: fc.constantFrom<Body>([], ["x"], "text", 1, true, null) },
  );
}

// --- The two verdicts --------------------------------------------------------------------------

/** The deployed REST API body (dev stack) run by the local gateway, every function answering 200. */
function modelVerdicts() {
  const functionName = (route: Route) => `items-api-dev-${route.operationId}`;
  const gateway = createGateway({
    document: restApiBody(
      // Bodies only: the models do not depend on who calls.
      withoutSignIn(readStackSettings("dev")),
      routes,
      Object.fromEntries(
        routes.map((route) => [
          route.operationId,
          lambdaInvokeArn("local", `arn:aws:lambda:local:0:function:${functionName(route)}`),
        ]),
      ),
    ),
    functions: Object.fromEntries(
      routes.map((route) => [functionName(route), () => Promise.resolve({ statusCode: 200, body: "{}" })]),
    ),
    apiKeys: [],
    functionTimeoutMs: 1000,
    memoryMb: 128,
    stage: "test",
    domainName: () => "127.0.0.1:1",
  });
  /** Whether the model lets the body through to the function. */
  return async (route: BodyRoute, body: Body): Promise<boolean> => {
    const answer = await gateway({
      method: route.method,
      url: route.path.replace("{id}", ID),
      rawHeaders: ["Content-Type", route.requestSchema.contentTypes[0] ?? ""],
      body: Buffer.from(JSON.stringify(body)),
      sourceIp: "127.0.0.1",
    });
    expect([200, 400], JSON.stringify(body)).to.include(answer.statusCode);
    return answer.statusCode === 200;
  };
}

type BodyRoute = (typeof bodyRoutes)[number];

/**
 * A DynamoDB endpoint that keeps nothing: PutItem succeeds, and UpdateItem answers an item of the
 * table's fields (each of its type). A handler that accepts a body therefore answers 201 or 200
 * after one call, one that refuses it 400, and no answer depends on earlier bodies.
 */
async function startEmptyStore(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const item = {
    ...Object.fromEntries(
      FIELD_SPECS.map(([name, spec]) => [name, spec.type === "integer" ? { N: String(spec.minimum) } : { S: "x" }]),
    ),
    attrs: { M: {} },
  };
  const server = createServer((request, response) => {
    request.resume().on("end", () => {
      const update = String(request.headers["x-amz-target"]).endsWith(".UpdateItem");
      response.writeHead(200, { "Content-Type": "application/x-amz-json-1.0" });
      response.end(JSON.stringify(update ? { Attributes: item } : {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Each route's handler, built by its factory as a Lambda builds it, against the empty store. */
function handlerVerdicts(endpoint: string) {
  const environment = handlerEnvironment({
    tableNames: TABLES,
    cursorSecret: "test-secret",
    settings: { corsAllowedOrigins: [], logLevel: "error", lambda: { timeoutSeconds: 10 } },
    dynamoDb: { endpoint },
  });
  const handlers: Record<string, ProxyHandler> = withEnvironmentSync(environment, () =>
    Object.fromEntries(bodyRoutes.map((route) => [route.operationId, route.handlerFactory()])),
  );
  /** Whether the handler accepts the body: anything but a 400. */
  return async (route: BodyRoute, body: Body): Promise<boolean> => {
    const handler = handlers[route.operationId];
    if (handler === undefined) {
      throw new Error(`no handler for ${route.operationId}`);
    }
    const answer = await handler(
      proxyEvent({
        method: route.method,
        path: route.path.replace("{id}", ID),
        resource: route.path,
        pathParameters: route.path.includes("{id}") ? { id: ID } : undefined,
        headers: { "Content-Type": route.requestSchema.contentTypes[0] ?? "" },
        body: JSON.stringify(body),
      }),
      lambdaContext(),
    );
    expect([200, 201, 400], `${route.operationId} ${JSON.stringify(body)}: ${answer.body}`).to.include(
      answer.statusCode,
    );
    return answer.statusCode !== 400;
  };
}

describe("the gateway's models and the handlers, on generated bodies", function () {
  this.timeout(60000);
  let store: Awaited<ReturnType<typeof startEmptyStore>>;
  let modelAccepts: ReturnType<typeof modelVerdicts>;
  let handlerAccepts: ReturnType<typeof handlerVerdicts>;

  before(async () => {
    store = await startEmptyStore();
    modelAccepts = modelVerdicts();
    handlerAccepts = handlerVerdicts(store.endpoint);
  });

  after(async () => {
    await store.close();
  });

  it("covers every route with a body: createItem, replaceItem and patchItem", () => {
    expect(bodyRoutes.map((route) => route.operationId)).to.deep.equal(["createItem", "replaceItem", "patchItem"]);
  });

  for (const route of bodyRoutes) {
    const patch = route.method === "PATCH";

    it(`${route.operationId}: every body the handler accepts passes the model (every body the model refuses, the handler refuses)`, async () => {
      await fc.assert(
        fc.asyncProperty(bodyArbitrary(patch, false), async (body) => {
          const [model, handler] = [await modelAccepts(route, body), await handlerAccepts(route, body)];
          expect({ model, handler }, JSON.stringify(body)).not.to.deep.equal({ model: false, handler: true });
        }),
        { numRuns: RUNS },
      );
    });

    it(`${route.operationId}: on bodies within the handler-only rules, the model accepts exactly what the handler accepts`, async () => {
      await fc.assert(
        fc.asyncProperty(bodyArbitrary(patch, true), async (body) => {
          const [model, handler] = [await modelAccepts(route, body), await handlerAccepts(route, body)];
          expect(model, JSON.stringify(body)).to.equal(handler);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it("deploys models that compile in ajv's strict draft-4 mode (no keyword a validator would ignore)", () => {
    const settings = withoutSignIn(readStackSettings("dev"));
    const { api, findings } = importRestApi(
      restApiBody(settings, routes, Object.fromEntries(routes.map((route) => [route.operationId, "x"]))),
    );
    expect(findings.filter((finding) => finding.pointer.startsWith("#/components/schemas"))).to.deep.equal([]);
    // Formats are annotations to a model (and to the local gateway's validator), and a field a
    // PATCH may null keeps its range without its type on purpose (gatewayModelOf).
    const strict = new Ajv({ strict: true, strictTypes: false, validateFormats: false });
    for (const [name, model] of Object.entries(api.models)) {
      expect(() => strict.addSchema(model, `#/components/schemas/${name}`), name).not.to.throw();
    }
    for (const name of Object.keys(api.models)) {
      expect(() => strict.compile({ $ref: `#/components/schemas/${name}` }), name).not.to.throw();
    }
  });
});
