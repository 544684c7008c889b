/**
 * The HTTP contract (README, "The HTTP API"), written once as data: a list of checks, each an async function
 * of a context that says where the API is. Two drivers run it: mocha (`describeContract` in
 * contract.ts: the local runtime on dynalite, on DynamoDB Local, and the serialized handlers)
 * and `npm run verify` (verify.ts: a running API, deployed or local). Checks that need the
 * tables themselves (counting what is stored, planting an idempotency record) run only where
 * the driver owns the tables; every other check touches only items it created.
 */
import { randomUUID } from "crypto";
import { expect } from "chai";
import { uuidv7 } from "../../handlers/operations";
import { GATEWAY_RESPONSES } from "../../infra/apigateway-openapi";
import type { Settings } from "../../infra/config";
import { expectErrorEnvelope } from "../support/error-envelope";
import { ApiResponse, Exchange, Observer, Request, RequestOptions, client } from "../support/http-client";
import { TIMESTAMP, UUID } from "../support/quick-start-items";
import { corsRequestHeaders, headerNames } from "../infra/expectations";

/** Direct access to the tables, where the driver owns them. */
export interface ContractTables {
  /** How many items the owner's partition of the items table holds (a consistent query). */
  countItems(owner: string): Promise<number>;
  /** Writes the owner's idempotency record as a create in flight or abandoned would leave it. */
  putIdempotencyRecord(owner: string, record: Record<string, unknown>): Promise<void>;
  /** The request hash a create of this input records (handlers/operations.ts). */
  requestHash(input: { name: string; description: string; attrs: Record<string, unknown> }): string;
}

/** The users a driver signs in as, on a stack with sign-in. */
export interface ContractUsers {
  /** The ID token of the user the checks act as, and that user's `sub`. */
  token: string;
  owner: string;
  /** The ID token of a second user. */
  otherToken: string;
  /**
   * Tokens the authorizer must refuse, by what is wrong with them (expired, another issuer, a bad
   * signature...); a driver gives the ones it can make.
   */
  refused: Record<string, string>;
}

export interface ContractContext {
  /** Base URL ending with `/`. */
  url: string;
  /** Requests as the user the checks act as: the API key and the ID token where the stack needs them. */
  api: Request;
  /** Requests as a second user (as `api` on a stack without sign-in). */
  other: Request;
  /** Requests with neither key nor token. */
  anonymous: Request;
  /** Requests with the user's token but no API key. */
  withoutKey: Request;
  /** Requests with the API key (where needed) and these headers, e.g. another Authorization. */
  withHeaders(headers: Record<string, string>): Request;
  apiKey: string | undefined;
  /** The owner of the items `api` creates: the user's sub, or `anonymous`. */
  owner: string;
  users: ContractUsers | undefined;
  settings: Pick<Settings, "corsAllowedOrigins" | "apiKeys" | "signIn">;
  tables: ContractTables | undefined;
  /** POST /items that must answer 201. */
  create(body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** At least `count` items this run created, for the listing checks; created once per context. */
  ownItems(count: number): Promise<string[]>;
}

export interface ContractCheck {
  group: string;
  title: string;
  /** Runs only where the driver owns the tables. */
  needsTables?: boolean;
  /** Runs only on a stack with sign-in. */
  needsSignIn?: boolean;
  run(ctx: ContractContext): Promise<void>;
}

/** A walk of the whole table stops here: past it the table is too large for a check. */
const MAX_WALKED_ITEMS = 10000;

/** An error answer: this status and code, the envelope as the README states it, no stack trace. */
export function expectError(response: ApiResponse, status: number, code: string): void {
  expect(response.status, response.text).to.equal(status);
  expectErrorEnvelope(response);
  expect(response.json.error.code).to.equal(code);
  expect(response.text).not.to.match(/at .+\.(ts|js):\d+|Exception|stack/i);
}

export interface ContextOptions {
  url: string;
  apiKey: string | undefined;
  users: ContractUsers | undefined;
  settings: ContractContext["settings"];
  tables: ContractTables | undefined;
  /** Sees every exchange (the document checks, latency figures). */
  observe?: Observer;
}

/** A context for the checks; `created` collects the id of every item any request created. */
export function contractContext(options: ContextOptions): ContractContext & { created: Set<string> } {
  const created = new Set<string>();
  const observe = (exchange: Exchange): void => {
    const id: unknown = exchange.response.json?.id;
    if (exchange.method === "POST" && exchange.response.status === 201 && typeof id === "string") {
      created.add(id);
    }
    options.observe?.(exchange);
  };
  const key: Record<string, string> = options.apiKey === undefined ? {} : { "x-api-key": options.apiKey };
  const token = (value: string | undefined): Record<string, string> =>
    value === undefined ? {} : { Authorization: value };
  const api = client(options.url, { ...key, ...token(options.users?.token) }, observe);
  let own: Promise<string[]> = Promise.resolve([]);
  const ctx: ContractContext & { created: Set<string> } = {
    url: options.url,
    api,
    other: client(options.url, { ...key, ...token(options.users?.otherToken ?? options.users?.token) }, observe),
    anonymous: client(options.url, {}, observe),
    withoutKey: client(options.url, token(options.users?.token), observe),
    withHeaders: (headers) => client(options.url, { ...key, ...headers }, observe),
    apiKey: options.apiKey,
    owner: options.users?.owner ?? "anonymous",
    users: options.users,
    settings: options.settings,
    tables: options.tables,
    created,
    create: async (body, headers = {}) => {
      const response = await api("POST", "items", { json: body, headers });
      expect(response.status, response.text).to.equal(201);
      return response;
    },
    ownItems: (count) => {
      own = own.then(async (ids) => {
        for (let batch = ids.length; batch < count; batch += 10) {
          const responses = await Promise.all(
            Array.from({ length: Math.min(10, count - batch) }, (_, index) =>
              ctx.create({ name: `listed ${batch + index}` }),
            ),
          );
          ids.push(...responses.map((response) => String(response.json.id)));
        }
        return ids;
      });
      return own;
    },
  };
  return ctx;
}

/** The number of the user's stored items where the driver can count them; undefined elsewhere. */
function itemCount(ctx: ContractContext): Promise<number | undefined> {
  return ctx.tables === undefined ? Promise.resolve(undefined) : ctx.tables.countItems(ctx.owner);
}

function tablesOf(ctx: ContractContext): ContractTables {
  if (ctx.tables === undefined) {
    throw new Error("this check needs the tables");
  }
  return ctx.tables;
}

/** Sends `lines` as separate If-Match header lines. */
function withIfMatchLines(ctx: ContractContext, method: string, id: string, lines: string[], body?: unknown) {
  return ctx.api(method, `items/${id}`, {
    ...(body === undefined ? {} : { json: body }),
    headerLines: lines.map((line): [string, string] => ["If-Match", line]),
  });
}

const invalidBodies: [string, unknown, string][] = [
  ["name missing", { description: "d" }, "validation_failed"],
  ["name empty", { name: "" }, "validation_failed"],
  ["name too long", { name: "x".repeat(201) }, "validation_failed"],
  ["name not a string", { name: 5 }, "validation_failed"],
  ["description too long", { name: "x", description: "d".repeat(2001) }, "validation_failed"],
  ["an attribute name that is an expression", { name: "x", "a = :x, b": 1 }, "validation_failed"],
  ["an attribute name starting with a digit", { name: "x", "1a": 1 }, "validation_failed"],
  ["an attribute name of 65 characters", { name: "x", ["a".repeat(65)]: 1 }, "validation_failed"],
  [
    "51 attributes",
    { name: "x", ...Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`a${index}`, index])) },
    "validation_failed",
  ],
  ["nesting depth 9", { name: "x", deep: [[[[[[[[[1]]]]]]]]] }, "validation_failed"],
  ["an integer beyond 2^53", { name: "x", big: 2 ** 53 + 2 }, "validation_failed"],
  ["a number DynamoDB cannot store", { name: "x", tiny: 1e-200 }, "validation_failed"],
  ["an array body", [{ name: "x" }], "validation_failed"],
  ["a string body", "name", "validation_failed"],
  ["id", { name: "x", id: "mine" }, "read_only_field"],
  ["version", { name: "x", version: 7 }, "read_only_field"],
  ["createdAt", { name: "x", createdAt: "2020-01-01T00:00:00.000Z" }, "read_only_field"],
  ["updatedAt", { name: "x", updatedAt: "2020-01-01T00:00:00.000Z" }, "read_only_field"],
];

/**
 * A key claimed as a create of `name` would leave it: in flight, or abandoned when its lock ended
 * `lockedUntil` ms from now (negative: in the past). Returns the key and the item id it chose.
 */
async function plantedClaim(ctx: ContractContext, name: string, lockedUntil: number) {
  const key = `key-${randomUUID()}`;
  const itemId = uuidv7();
  const now = Date.now();
  await tablesOf(ctx).putIdempotencyRecord(ctx.owner, {
    id: key,
    requestHash: tablesOf(ctx).requestHash({ name, description: "", attrs: {} }),
    status: "in_progress",
    itemId,
    expiresAt: Math.floor(now / 1000) + 3600,
    lockedUntil: now + lockedUntil,
  });
  return { key, itemId };
}

/** Names every object inherits, each a valid attribute name: the API must treat them as data. */
const PROTOTYPE_NAMES = [
  "toString",
  "valueOf",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
];

/** An item with exactly `count` attributes besides name and description: `a0` .. `a{count-1}`. */
function attributes(count: number): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`a${index}`, index]));
}

/** The item as GET answers it now (status checked). */
/** One request to every route, on the item `id` where a route takes one; the DELETE last. */
function everyRoute(id: string) {
  return [
    ["GET", "items", undefined],
    ["POST", "items", { name: "written by everyRoute" }],
    ["GET", `items/${id}`, undefined],
    ["PUT", `items/${id}`, { name: "written by everyRoute" }],
    ["PATCH", `items/${id}`, { written: 1 }],
    ["DELETE", `items/${id}`, undefined],
  ] as const;
}

async function current(ctx: ContractContext, id: string): Promise<ApiResponse> {
  const response = await ctx.api("GET", `items/${id}`);
  expect(response.status, response.text).to.equal(200);
  return response;
}

/**
 * Every conditional form a write or a read can carry, and what RFC 9110 §13.2.2 makes of it on an
 * item at version 1 (`"1"` is its ETag).
 */
const CONDITIONS_ON_VERSION_1: { headers: Record<string, string>; read: number; write: "412" | "applied" }[] = [
  { headers: { "If-Match": '"1"' }, read: 200, write: "applied" },
  { headers: { "If-Match": "*" }, read: 200, write: "applied" },
  { headers: { "If-Match": '"2"' }, read: 412, write: "412" },
  { headers: { "If-Match": 'W/"1"' }, read: 412, write: "412" },
  { headers: { "If-None-Match": "*" }, read: 304, write: "412" },
  { headers: { "If-None-Match": '"1"' }, read: 304, write: "412" },
  { headers: { "If-None-Match": 'W/"1"' }, read: 304, write: "412" },
  { headers: { "If-None-Match": '"2", "3"' }, read: 200, write: "applied" },
  { headers: { "If-Match": '"1"', "If-None-Match": '"1"' }, read: 304, write: "412" },
  { headers: { "If-Match": '"2"', "If-None-Match": '"2"' }, read: 412, write: "412" },
];

export const CONTRACT_CHECKS: readonly ContractCheck[] = [
  {
    group: "createItem",
    title: "stores an item and answers 201 with Location, ETag and the item",
    run: async (ctx) => {
      const response = await ctx.create({ name: "Espresso machine", color: "red", tags: ["a", "b"], dims: { w: 1.5 } });
      const item = response.json;
      expect(Object.keys(item)).to.deep.equal([
        "id",
        "name",
        "description",
        "color",
        "tags",
        "dims",
        "version",
        "createdAt",
        "updatedAt",
      ]);
      expect(item.id).to.match(UUID);
      expect(item).to.include({ name: "Espresso machine", description: "", color: "red", version: 1 });
      expect(item.tags).to.deep.equal(["a", "b"]);
      expect(item.dims).to.deep.equal({ w: 1.5 });
      expect(item.createdAt).to.match(TIMESTAMP).and.equal(item.updatedAt);
      expect(response.headers.get("location")).to.equal(`${ctx.url}items/${item.id}`);
      expect(response.headers.get("etag")).to.equal('"1"');
      expect(response.headers.get("x-request-id")).to.be.a("string").and.not.equal("");
      expect(response.headers.get("x-content-type-options")).to.equal("nosniff");
      expect(response.headers.get("cache-control")).to.equal("no-store");
      const fetched = await ctx.api("GET", `items/${item.id}`);
      expect(fetched.status).to.equal(200);
      expect(fetched.json).to.deep.equal(item);
    },
  },
  {
    group: "createItem",
    title: "builds Location from the gateway's domain and stage, never from forwarding headers a client sends",
    run: async (ctx) => {
      const response = await ctx.create(
        { name: "located" },
        { "x-forwarded-proto": "javascript", "X-Forwarded-Host": "evil.example", Forwarded: "host=evil.example" },
      );
      expect(response.headers.get("location")).to.equal(`${ctx.url}items/${response.json.id}`);
    },
  },
  {
    group: "createItem",
    title: "keeps attributes named after DynamoDB reserved words",
    run: async (ctx) => {
      const body = { name: "n", status: "new", data: { value: 1, date: "x" }, type: "t", ttl: 5, user: null };
      const response = await ctx.create(body);
      expect(response.json).to.include({ name: "n", status: "new", type: "t", ttl: 5, user: null });
      expect(response.json.data).to.deep.equal({ value: 1, date: "x" });
    },
  },
  {
    group: "createItem",
    title: "accepts every JSON value type, 50 attributes and nesting depth 8",
    run: async (ctx) => {
      const attributes = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`a${index}`, index]));
      const deep = { l1: { l2: { l3: { l4: { l5: { l6: { l7: [true] } } } } } } };
      const response = await ctx.create({
        name: "x",
        ...attributes,
        a0: deep,
        a1: [1, "two", null, false, { x: 1 }],
        a2: -0.5,
      });
      expect(response.json.a0).to.deep.equal(deep);
      expect(response.json.a1).to.deep.equal([1, "two", null, false, { x: 1 }]);
      expect(response.json.a2).to.equal(-0.5);
      expect(Object.keys(response.json)).to.have.length(50 + 6);
    },
  },
  ...invalidBodies.map(([what, body, code]): ContractCheck => ({
    group: "createItem",
    title: `refuses ${what} with 400 ${code} and stores nothing`,
    run: async (ctx) => {
      const before = await itemCount(ctx);
      expectError(await ctx.api("POST", "items", { json: body }), 400, code);
      expect(await itemCount(ctx)).to.equal(before);
    },
  })),
  {
    group: "createItem",
    title: "never evaluates a client attribute name",
    run: async (ctx) => {
      const response = await ctx.api("POST", "items", { json: { name: "x", "a = :x, b": 1, "#n": 2 } });
      expectError(response, 400, "validation_failed");
      const created = await ctx.create({ name: "x" });
      const patched = await ctx.api("PATCH", `items/${created.json.id}`, { json: { "name = :v0, #n0": "y" } });
      expectError(patched, 400, "validation_failed");
      expect((await ctx.api("GET", `items/${created.json.id}`)).json).to.deep.equal(created.json);
    },
  },
  {
    group: "createItem",
    title: "answers 400 for a body that is not JSON, or empty, before the function runs (API Gateway's model check)",
    run: async (ctx) => {
      for (const raw of ['{"name": "x",', "", "caf\u00e9"]) {
        const refused = await ctx.api("POST", "items", { raw, contentType: "application/json" });
        expectError(refused, 400, "validation_failed");
        expect(refused.headers.get("x-request-id"), "answered by the gateway, not the handler").to.equal(null);
      }
    },
  },
  {
    group: "createItem",
    title: "accepts exactly the media types the document declares: 415 for any other JSON type",
    run: async (ctx) => {
      for (const contentType of ["application/vnd.items+json", "application/merge-patch+json"]) {
        expectError(
          await ctx.api("POST", "items", { raw: '{"name":"x"}', contentType }),
          415,
          "unsupported_media_type",
        );
      }
      const patched = await ctx.api("POST", "items", { json: { name: "x" } });
      for (const contentType of ["application/merge-patch+json", "application/json"]) {
        const response = await ctx.api("PATCH", `items/${patched.json.id}`, { raw: '{"n":1}', contentType });
        expect(response.status, contentType).to.equal(200);
      }
      expectError(
        await ctx.api("PATCH", `items/${patched.json.id}`, {
          raw: '{"n":1}',
          contentType: "application/vnd.items+json",
        }),
        415,
        "unsupported_media_type",
      );
    },
  },
  {
    group: "createItem",
    title: "answers 415 without a JSON content type",
    run: async (ctx) => {
      expectError(await ctx.api("POST", "items", { raw: '{"name":"x"}' }), 415, "unsupported_media_type");
      expectError(
        await ctx.api("POST", "items", { raw: '{"name":"x"}', contentType: "text/plain" }),
        415,
        "unsupported_media_type",
      );
      expectError(
        await ctx.api("POST", "items", { raw: '{"name":"x"}', contentType: "application/json; charset=latin1" }),
        415,
        "unsupported_media_type",
      );
      const ok = await ctx.api("POST", "items", {
        raw: '{"name":"x"}',
        contentType: "application/json; charset=utf-8",
      });
      expect(ok.status).to.equal(201);
    },
  },
  {
    group: "createItem",
    title: "answers 413 for a body over 64 KiB, and accepts one just under",
    run: async (ctx) => {
      const overhead = JSON.stringify({ name: "x", blob: "" }).length;
      const under = await ctx.api("POST", "items", { json: { name: "x", blob: "b".repeat(65536 - overhead) } });
      expect(under.status, under.text).to.equal(201);
      const over = await ctx.api("POST", "items", { json: { name: "x", blob: "b".repeat(65537 - overhead) } });
      expectError(over, 413, "payload_too_large");
    },
  },
  {
    group: "createItem",
    title: "refuses a body nested thousands of levels deep with 400, not 500",
    run: async (ctx) => {
      const raw = `{"name":"x","deep":${"[".repeat(5000)}${"]".repeat(5000)}}`;
      expectError(await ctx.api("POST", "items", { raw, contentType: "application/json" }), 400, "validation_failed");
    },
  },
  {
    group: "createItem",
    title: "refuses prototype keys anywhere in the body",
    run: async (ctx) => {
      expectError(
        await ctx.api("POST", "items", { raw: '{"name":"x","__proto__":{"a":1}}', contentType: "application/json" }),
        400,
        "validation_failed",
      );
      expectError(
        await ctx.api("POST", "items", {
          raw: '{"name":"x","o":{"constructor":{"prototype":1}}}',
          contentType: "application/json",
        }),
        400,
        "validation_failed",
      );
    },
  },
  {
    group: "numbers",
    title: "holds the number rule at its boundaries: 2^53, 1e125, 1e126, -0, 1e-130, 1e-400",
    run: async (ctx) => {
      const accepted: [string, number][] = [
        ["9007199254740991", 9007199254740991],
        ["-9007199254740991", -9007199254740991],
        ["-0", 0],
        ["1e-130", 1e-130],
        ["-1.5e-130", -1.5e-130],
        ["4503599627370495.5", 4503599627370495.5],
      ];
      for (const [literal, value] of accepted) {
        const response = await ctx.api("POST", "items", {
          raw: `{"name":"n","n":${literal}}`,
          contentType: "application/json",
        });
        expect(response.status, `${literal}: ${response.text}`).to.equal(201);
        expect(response.text).to.contain(`"n":${JSON.stringify(value)}`);
        expect((await ctx.api("GET", `items/${response.json.id}`)).json.n).to.equal(value);
      }
      const rule =
        "numbers must be integers of magnitude at most 9007199254740991 (2^53 - 1), or other numbers of magnitude at least 1e-130";
      const refused: [string, string][] = [
        ["9007199254740992", "attribute n holds the number 9007199254740992, which cannot be stored"],
        ["1e125", "attribute n holds the number 1e+125, which cannot be stored"],
        ["1e126", "attribute n holds the number 1e+126, which cannot be stored"],
        ["9.99e-131", "attribute n holds the number 9.99e-131, which cannot be stored"],
        ["1e-400", "the number 1e-400 cannot be stored"],
      ];
      const before = await itemCount(ctx);
      for (const [literal, message] of refused) {
        const response = await ctx.api("POST", "items", {
          raw: `{"name":"n","n":${literal}}`,
          contentType: "application/json",
        });
        expectError(response, 400, "validation_failed");
        expect(response.json.error.message).to.equal(`${message}: ${rule}`);
      }
      expect(await itemCount(ctx)).to.equal(before);
    },
  },
  {
    group: "entity tags (RFC 9110)",
    title: 'compares tags by character: "01" is not "1", and "002" is not "2"',
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "tags" });
      const stale = await ctx.api("PUT", `items/${item.id}`, { json: { name: "y" }, headers: { "If-Match": '"01"' } });
      expectError(stale, 412, "precondition_failed");
      expectError(
        await ctx.api("DELETE", `items/${item.id}`, { headers: { "If-Match": '"1.0", "abc", "", W/"1"' } }),
        412,
        "precondition_failed",
      );
      expect((await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": '"01"' } })).status).to.equal(200);
      const patched = await ctx.api("PATCH", `items/${item.id}`, {
        json: { a: 1 },
        headers: { "If-Match": '"01", "1"' },
      });
      expect(patched.status, patched.text).to.equal(200);
      const notCached = await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": '"002"' } });
      expect(notCached.status).to.equal(200);
      expect(notCached.json.version).to.equal(2);
      expect((await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": 'W/"2"' } })).status).to.equal(
        304,
      );
    },
  },
  {
    group: "entity tags (RFC 9110)",
    title: "reads If-Match sent on two header lines as one list",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "lines" });
      const replaced = await withIfMatchLines(ctx, "PUT", item.id, ['"1"', '"5"'], { name: "replaced" });
      expect(replaced.status, replaced.text).to.equal(200);
      expect(replaced.json.version).to.equal(2);
      const patched = await withIfMatchLines(ctx, "PATCH", item.id, ['"7"', '"2"'], { a: 1 });
      expect(patched.status, patched.text).to.equal(200);
      expect(patched.json.version).to.equal(3);
      const stale = await withIfMatchLines(ctx, "DELETE", item.id, ['"1"', '"2"']);
      expect(stale.status, stale.text).to.equal(412);
      expect((await withIfMatchLines(ctx, "DELETE", item.id, ['"9"', '"3"'])).status).to.equal(204);
    },
  },
  {
    group: "entity tags (RFC 9110)",
    title: "answers 400, never 5xx, for If-Match with more than 100 tags, and honours 100",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "many tags" });
      const tags = (count: number, first: number): string =>
        Array.from({ length: count }, (_, index) => `"${first + index}"`).join(", ");
      for (const [method, body] of [
        ["PUT", { name: "y" }],
        ["PATCH", { a: { b: 1 } }],
        ["DELETE", undefined],
      ] as const) {
        const response = await ctx.api(method, `items/${item.id}`, {
          ...(body === undefined ? {} : { json: body }),
          headers: { "If-Match": tags(150, 2) },
        });
        expectError(response, 400, "validation_failed");
        expect(response.json.error.message).to.equal("If-Match may list at most 100 entity tags");
      }
      // 701 tags would also pass DynamoDB's 4 KB expression limit: still 400.
      expectError(
        await ctx.api("DELETE", `items/${item.id}`, { headers: { "If-Match": tags(701, 2) } }),
        400,
        "validation_failed",
      );
      const hundred = await ctx.api("PATCH", `items/${item.id}`, {
        json: { a: { b: 1 } },
        headers: { "If-Match": tags(100, 1) },
      });
      expect(hundred.status, hundred.text).to.equal(200);
      expect(hundred.json.version).to.equal(2);
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { json: { name: "z" }, headers: { "If-Match": tags(100, 3) } }),
        412,
        "precondition_failed",
      );
    },
  },
  {
    group: "getItem",
    title: "answers 404 not_found for an unknown id and for an id that cannot exist",
    run: async (ctx) => {
      expectError(await ctx.api("GET", `items/${randomUUID()}`), 404, "not_found");
      expectError(await ctx.api("GET", "items/not-a-uuid"), 404, "not_found");
    },
  },
  {
    group: "getItem",
    title: "answers 304 when If-None-Match names the current ETag, 200 otherwise",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "cached" });
      for (const tag of ['"1"', 'W/"1"', '"7", "1"', "*"]) {
        const response = await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": tag } });
        expect(response.status, tag).to.equal(304);
        expect(response.text).to.equal("");
        expect(response.headers.get("etag")).to.equal('"1"');
      }
      const changed = await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": '"2"' } });
      expect(changed.status).to.equal(200);
      expect(changed.json).to.deep.equal(item);
      expectError(
        await ctx.api("GET", `items/${item.id}`, { headers: { "If-None-Match": "nonsense" } }),
        400,
        "validation_failed",
      );
    },
  },
  {
    group: "replaceItem",
    title: "replaces every client field, bumps the version and keeps createdAt",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "old", description: "d", keep: 1, status: "a" });
      const response = await ctx.api("PUT", `items/${item.id}`, { json: { name: "new", status: "b", data: [1] } });
      expect(response.status, response.text).to.equal(200);
      expect(response.headers.get("etag")).to.equal('"2"');
      const { updatedAt, ...rest } = response.json;
      expect(rest).to.deep.equal({
        id: item.id,
        name: "new",
        description: "",
        status: "b",
        data: [1],
        version: 2,
        createdAt: item.createdAt,
      });
      expect(updatedAt).to.match(TIMESTAMP);
      expect(Date.parse(updatedAt)).to.be.at.least(Date.parse(item.updatedAt));
      expect((await ctx.api("GET", `items/${item.id}`)).json).to.deep.equal(response.json);
    },
  },
  {
    group: "replaceItem",
    title: "never creates: 404 for a missing item, which stays missing",
    run: async (ctx) => {
      const id = randomUUID();
      expectError(await ctx.api("PUT", `items/${id}`, { json: { name: "x" } }), 404, "not_found");
      expectError(
        await ctx.api("PUT", `items/${id}`, { json: { name: "x" }, headers: { "If-Match": '"1"' } }),
        404,
        "not_found",
      );
      expectError(await ctx.api("GET", `items/${id}`), 404, "not_found");
    },
  },
  {
    group: "replaceItem",
    title: "honours If-Match: 412 on a stale ETag, 200 on the current one",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "v1" });
      const stale = await ctx.api("PUT", `items/${item.id}`, { json: { name: "v2" }, headers: { "If-Match": '"2"' } });
      expectError(stale, 412, "precondition_failed");
      const weak = await ctx.api("PUT", `items/${item.id}`, { json: { name: "v2" }, headers: { "If-Match": 'W/"1"' } });
      expectError(weak, 412, "precondition_failed");
      const current = await ctx.api("PUT", `items/${item.id}`, {
        json: { name: "v2" },
        headers: { "If-Match": '"1"' },
      });
      expect(current.status).to.equal(200);
      expect(current.json.version).to.equal(2);
      const any = await ctx.api("PUT", `items/${item.id}`, { json: { name: "v3" }, headers: { "If-Match": "*" } });
      expect(any.status).to.equal(200);
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { json: { name: "v4" }, headers: { "If-Match": "3" } }),
        400,
        "validation_failed",
      );
    },
  },
  {
    group: "replaceItem",
    title: "validates like create: read-only fields and bad bodies change nothing",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "x" });
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { json: { name: "y", version: 2 } }),
        400,
        "read_only_field",
      );
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { json: { description: "no name" } }),
        400,
        "validation_failed",
      );
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { raw: "{", contentType: "application/json" }),
        400,
        "validation_failed",
      );
      expectError(
        await ctx.api("PUT", `items/${item.id}`, { raw: '{"name":"y"}', contentType: "text/plain" }),
        415,
        "unsupported_media_type",
      );
      expect((await ctx.api("GET", `items/${item.id}`)).json).to.deep.equal(item);
    },
  },
  {
    group: "patchItem",
    title: "applies a JSON Merge Patch: null removes, objects merge, other values replace",
    run: async (ctx) => {
      const { json: item } = await ctx.create({
        name: "x",
        description: "d",
        status: "a",
        data: { keep: 1, drop: 2, inner: { a: 1 } },
        list: [1, 2],
      });
      const response = await ctx.api("PATCH", `items/${item.id}`, {
        json: { status: null, data: { drop: null, inner: { b: 2 }, added: true }, list: [3], color: "blue" },
        contentType: "application/merge-patch+json",
      });
      expect(response.status, response.text).to.equal(200);
      expect(response.headers.get("etag")).to.equal('"2"');
      const { updatedAt, ...rest } = response.json;
      expect(rest).to.deep.equal({
        id: item.id,
        name: "x",
        description: "d",
        data: { keep: 1, inner: { a: 1, b: 2 }, added: true },
        list: [3],
        color: "blue",
        version: 2,
        createdAt: item.createdAt,
      });
      expect(updatedAt).to.match(TIMESTAMP);
      expect((await ctx.api("GET", `items/${item.id}`)).json).to.deep.equal(response.json);
    },
  },
  {
    group: "patchItem",
    title: "merges an object into an attribute that is not an object by replacing it (RFC 7396)",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "x", a: 5, b: [1], c: { keep: 1 } });
      const response = await ctx.api("PATCH", `items/${item.id}`, {
        json: { a: { x: 1, gone: null }, b: { y: { z: 2 } }, d: { e: { f: null, g: 1 } } },
      });
      expect(response.status, response.text).to.equal(200);
      expect(response.json).to.deep.include({
        a: { x: 1 },
        b: { y: { z: 2 } },
        c: { keep: 1 },
        d: { e: { g: 1 } },
        version: 2,
      });
    },
  },
  {
    group: "patchItem",
    title: "renames, resets description with null, and refuses to remove name",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "x", description: "d" });
      const response = await ctx.api("PATCH", `items/${item.id}`, { json: { name: "renamed", description: null } });
      expect(response.json).to.include({ name: "renamed", description: "", version: 2 });
      expectError(await ctx.api("PATCH", `items/${item.id}`, { json: { name: null } }), 400, "validation_failed");
      expectError(await ctx.api("PATCH", `items/${item.id}`, { json: { id: "x" } }), 400, "read_only_field");
      expectError(await ctx.api("PATCH", `items/${item.id}`, { json: { updatedAt: null } }), 400, "read_only_field");
    },
  },
  {
    group: "patchItem",
    title: "keeps the 50-attribute limit across patches",
    run: async (ctx) => {
      const attributes = Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`a${index}`, index]));
      const { json: item } = await ctx.create({ name: "x", ...attributes });
      expectError(await ctx.api("PATCH", `items/${item.id}`, { json: { extra: 1 } }), 400, "validation_failed");
      const replaced = await ctx.api("PATCH", `items/${item.id}`, { json: { a0: "changed", a1: { nested: 1 } } });
      expect(replaced.status, replaced.text).to.equal(200);
      const swapped = await ctx.api("PATCH", `items/${item.id}`, { json: { a2: null, extra: 1 } });
      expect(swapped.status, swapped.text).to.equal(200);
      expect(swapped.json).to.include({ a0: "changed", extra: 1, version: 3 });
      expect(swapped.json).not.to.have.property("a2");
      expect(Object.keys(swapped.json)).to.have.length(50 + 6);
    },
  },
  {
    group: "patchItem",
    title: "never creates, and honours If-Match",
    run: async (ctx) => {
      expectError(await ctx.api("PATCH", `items/${randomUUID()}`, { json: { name: "x" } }), 404, "not_found");
      expectError(
        await ctx.api("PATCH", `items/${randomUUID()}`, { json: { a: { b: 1 } }, headers: { "If-Match": '"1"' } }),
        404,
        "not_found",
      );
      const { json: item } = await ctx.create({ name: "x" });
      expectError(
        await ctx.api("PATCH", `items/${item.id}`, { json: { a: 1 }, headers: { "If-Match": '"9"' } }),
        412,
        "precondition_failed",
      );
      expectError(
        await ctx.api("PATCH", `items/${item.id}`, { json: { a: { b: 1 } }, headers: { "If-Match": '"9"' } }),
        412,
        "precondition_failed",
      );
      const ok = await ctx.api("PATCH", `items/${item.id}`, { json: { a: 1 }, headers: { "If-Match": '"1"' } });
      expect(ok.status).to.equal(200);
      expect(ok.json.version).to.equal(2);
    },
  },
  {
    group: "patchItem",
    title: "lands 50 concurrent PATCHes without If-Match, merged into a map or replacing a string",
    run: async (ctx) => {
      for (const initial of [{}, "a string"]) {
        const { json: item } = await ctx.create({ name: "contended", data: initial });
        const responses = await Promise.all(
          Array.from({ length: 50 }, (_, writer) =>
            ctx.api("PATCH", `items/${item.id}`, { json: { data: { [`w${writer}`]: writer } } }),
          ),
        );
        const statuses = responses.map((response) => response.status);
        expect(statuses, responses.find((response) => response.status !== 200)?.text).to.deep.equal(
          Array.from({ length: 50 }, () => 200),
        );
        // Each answer is the item right after that write, or, when the SDK retried an attempt
        // DynamoDB had applied (a slow engine under load), the item as it stands once the retry
        // finds its own write token: never older than the write, never newer than the last one.
        const versions = responses.map((response) => response.json.version as number);
        expect(
          versions.every((version) => version >= 2 && version <= 51),
          versions.join(" "),
        ).to.equal(true);
        expect(Math.max(...versions)).to.equal(51);
        const final = await ctx.api("GET", `items/${item.id}`);
        expect(final.json.version).to.equal(51);
        expect(final.json.data).to.deep.equal(
          Object.fromEntries(Array.from({ length: 50 }, (_, writer) => [`w${writer}`, writer])),
        );
      }
    },
  },
  {
    group: "patchItem",
    title: "lets exactly one of 20 concurrent PATCHes with the same If-Match win",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "contended" });
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          ctx.api("PATCH", `items/${item.id}`, { json: { writer: index }, headers: { "If-Match": '"1"' } }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 200)).to.have.length(1);
      expect(statuses.filter((status) => status === 412)).to.have.length(19);
      const winner = responses.find((response) => response.status === 200);
      const final = await ctx.api("GET", `items/${item.id}`);
      expect(final.json.version).to.equal(2);
      expect(final.json.writer).to.equal(winner?.json.writer);
    },
  },
  {
    group: "deleteItem",
    title: "deletes with 204 and no body; then 404",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "x" });
      const response = await ctx.api("DELETE", `items/${item.id}`);
      expect(response.status).to.equal(204);
      expect(response.text).to.equal("");
      expectError(await ctx.api("GET", `items/${item.id}`), 404, "not_found");
      expectError(await ctx.api("DELETE", `items/${item.id}`), 404, "not_found");
    },
  },
  {
    group: "deleteItem",
    title: "honours If-Match: 412 keeps the item, the current ETag deletes it",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "x" });
      expectError(
        await ctx.api("DELETE", `items/${item.id}`, { headers: { "If-Match": '"2"' } }),
        412,
        "precondition_failed",
      );
      expect((await ctx.api("GET", `items/${item.id}`)).status).to.equal(200);
      expect((await ctx.api("DELETE", `items/${item.id}`, { headers: { "If-Match": '"1"' } })).status).to.equal(204);
      expectError(await ctx.api("DELETE", `items/${item.id}`, { headers: { "If-Match": '"1"' } }), 404, "not_found");
    },
  },
  {
    group: "listItems",
    title:
      "walks the whole table in pages of 7: its own 101 items each exactly once, no item twice, the last page without nextCursor",
    run: async (ctx) => {
      const own = await ctx.ownItems(101);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const response = await ctx.api(
          "GET",
          `items?limit=7${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
        expect(response.status, response.text).to.equal(200);
        seen.push(...response.json.items.map((item: { id: string }) => item.id));
        cursor = response.json.nextCursor;
        if (cursor === undefined) {
          expect(Object.keys(response.json)).to.deep.equal(["items"]);
          expect(response.json.items.length).to.be.at.most(7);
        } else {
          expect(response.json.items).to.have.length(7);
        }
      } while (cursor !== undefined && seen.length < MAX_WALKED_ITEMS);
      expect(cursor, `the table holds more than ${MAX_WALKED_ITEMS} items: too many to walk`).to.equal(undefined);
      expect(new Set(seen).size, "an item appeared twice").to.equal(seen.length);
      expect(own.filter((id) => !seen.includes(id))).to.deep.equal([]);
      const stored = await itemCount(ctx);
      if (stored !== undefined) {
        expect(seen).to.have.length(stored);
      }
    },
  },

  {
    group: "listItems",
    title: "returns 20 items by default and the full items",
    run: async (ctx) => {
      await ctx.ownItems(101);
      const response = await ctx.api("GET", "items");
      expect(response.status).to.equal(200);
      expect(response.json.items).to.have.length(20);
      expect(response.json.nextCursor).to.be.a("string");
      const first = response.json.items[0];
      expect((await ctx.api("GET", `items/${first.id}`)).json).to.deep.equal(first);
    },
  },
  {
    group: "listItems",
    title: "refuses a bad limit with 400 validation_failed, and honours 100",
    run: async (ctx) => {
      await ctx.ownItems(101);
      for (const limit of ["0", "101", "abc", "1.5", "-1", ""]) {
        expectError(await ctx.api("GET", `items?limit=${limit}`), 400, "validation_failed");
      }
      expect((await ctx.api("GET", "items?limit=100")).json.items).to.have.length(100);
    },
  },
  {
    group: "listItems",
    title: "refuses an edited or foreign cursor with 400 invalid_cursor",
    run: async (ctx) => {
      await ctx.ownItems(101);
      const { json: page } = await ctx.api("GET", "items?limit=2");
      const cursor: string = page.nextCursor;
      const [payload, signature] = cursor.split(".");
      const forged = Buffer.from(JSON.stringify({ v: 1, id: randomUUID() })).toString("base64url");
      for (const bad of [
        `${forged}.${signature}`,
        `${payload}.AAAA${signature?.slice(4)}`,
        "garbage",
        `${cursor}x`,
        "a.b.c",
      ]) {
        expectError(await ctx.api("GET", `items?cursor=${encodeURIComponent(bad)}`), 400, "invalid_cursor");
      }
      expect((await ctx.api("GET", `items?limit=2&cursor=${encodeURIComponent(cursor)}`)).status).to.equal(200);
    },
  },
  {
    group: "idempotent create",
    title: "replays the first response for the same key and body, storing one item",
    run: async (ctx) => {
      const key = `key-${randomUUID()}`;
      const first = await ctx.create({ name: "once", tags: { a: 1, b: 2 } }, { "Idempotency-Key": key });
      const before = await itemCount(ctx);
      const again = await ctx.create({ tags: { b: 2, a: 1 }, name: "once" }, { "Idempotency-Key": key });
      expect(again.json).to.deep.equal(first.json);
      expect(again.headers.get("location")).to.equal(first.headers.get("location"));
      expect(again.headers.get("etag")).to.equal('"1"');
      expect(await itemCount(ctx)).to.equal(before);
    },
  },
  {
    group: "idempotent create",
    title: "answers 422 idempotency_key_reused for the same key with another body",
    run: async (ctx) => {
      const key = `key-${randomUUID()}`;
      await ctx.create({ name: "a" }, { "Idempotency-Key": key });
      const before = await itemCount(ctx);
      expectError(
        await ctx.api("POST", "items", { json: { name: "b" }, headers: { "Idempotency-Key": key } }),
        422,
        "idempotency_key_reused",
      );
      expect(await itemCount(ctx)).to.equal(before);
    },
  },
  {
    group: "idempotent create",
    title: "answers 409 request_in_progress while the first request is in flight",
    needsTables: true,
    run: async (ctx) => {
      const body = { name: "slow" };
      const { key } = await plantedClaim(ctx, "slow", 60000);
      const response = await ctx.api("POST", "items", { json: body, headers: { "Idempotency-Key": key } });
      expectError(response, 409, "request_in_progress");
      expect(response.headers.get("retry-after")).to.equal("1");
    },
  },
  {
    group: "idempotent create",
    title: "takes over an abandoned attempt and creates the item under the id it chose",
    needsTables: true,
    run: async (ctx) => {
      const { key, itemId } = await plantedClaim(ctx, "resumed", -1);
      const response = await ctx.create({ name: "resumed" }, { "Idempotency-Key": key });
      expect(response.json.id).to.equal(itemId);
      const replay = await ctx.create({ name: "resumed" }, { "Idempotency-Key": key });
      expect(replay.json).to.deep.equal(response.json);
    },
  },
  {
    group: "idempotent create",
    title:
      "never lets another body take over an abandoned claim: 422, however long ago it lapsed, and the key keeps one item",
    needsTables: true,
    run: async (ctx) => {
      const { key, itemId } = await plantedClaim(ctx, "first body", -60000);
      const before = await itemCount(ctx);
      const other = await ctx.api("POST", "items", {
        json: { name: "second body" },
        headers: { "Idempotency-Key": key },
      });
      expectError(other, 422, "idempotency_key_reused");
      expect(await itemCount(ctx)).to.equal(before);
      const resumed = await ctx.create({ name: "first body" }, { "Idempotency-Key": key });
      expect(resumed.json.id).to.equal(itemId);
      expect(await itemCount(ctx)).to.equal(before === undefined ? undefined : before + 1);
    },
  },
  {
    group: "idempotent create",
    title: "refuses repeated Idempotency-Key lines and a comma list with 400, storing nothing",
    run: async (ctx) => {
      const key = `key-${randomUUID()}`;
      const before = await itemCount(ctx);
      for (const headerLines of [
        [
          ["Idempotency-Key", key],
          ["Idempotency-Key", key],
        ],
        [
          ["Idempotency-Key", key],
          ["idempotency-key", `${key}-other`],
        ],
        [["Idempotency-Key", `${key}, ${key}-other`]],
      ] as [string, string][][]) {
        const answer = await ctx.api("POST", "items", { json: { name: "listed keys" }, headerLines });
        expectError(answer, 400, "validation_failed");
      }
      expect(await itemCount(ctx)).to.equal(before);
      // The key itself is still free.
      const first = await ctx.create({ name: "listed keys" }, { "Idempotency-Key": key });
      const replay = await ctx.create({ name: "listed keys" }, { "Idempotency-Key": key });
      expect(replay.json).to.deep.equal(first.json);
    },
  },
  {
    group: "idempotent create",
    title: "treats concurrent retries with one key as one create",
    run: async (ctx) => {
      const key = `key-${randomUUID()}`;
      const before = await itemCount(ctx);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          ctx.api("POST", "items", { json: { name: "burst" }, headers: { "Idempotency-Key": key } }),
        ),
      );
      const created = responses.filter((response) => response.status === 201);
      const inFlight = responses.filter((response) => response.status === 409);
      expect(created.length + inFlight.length).to.equal(10);
      expect(created.length).to.be.at.least(1);
      expect(new Set(created.map((response) => response.json.id)).size).to.equal(1);
      expect(await itemCount(ctx)).to.equal(before === undefined ? undefined : before + 1);
    },
  },
  {
    group: "idempotent create",
    title: "refuses a malformed Idempotency-Key with 400",
    run: async (ctx) => {
      expectError(
        await ctx.api("POST", "items", { json: { name: "x" }, headers: { "Idempotency-Key": "k".repeat(129) } }),
        400,
        "validation_failed",
      );
    },
  },
  {
    group: "conditional requests (RFC 9110 §13.2.2)",
    title:
      "evaluates If-Match, then If-None-Match, on GET, HEAD, PUT, PATCH and DELETE: 304 or 412, and a refused write changes nothing",
    run: async (ctx) => {
      for (const { headers, read, write } of CONDITIONS_ON_VERSION_1) {
        const label = JSON.stringify(headers);
        const { json: item } = await ctx.create({ name: "conditional", keep: 1 });
        for (const method of ["GET", "HEAD"]) {
          const answer = await ctx.api(method, `items/${item.id}`, { headers });
          expect(answer.status, `${method} ${label}`).to.equal(read);
          expect(answer.headers.get("etag"), `${method} ${label}`).to.equal(read === 412 ? null : '"1"');
          if (read === 412 && method === "GET") {
            expectError(answer, 412, "precondition_failed");
          }
        }
        const writes: [string, RequestOptions, number][] = [
          ["PUT", { json: { name: "replaced" }, headers }, 200],
          ["PATCH", { json: { keep: 2 }, headers }, 200],
          ["DELETE", { headers }, 204],
        ];
        for (const [method, options, applied] of writes) {
          const answer = await ctx.api(method, `items/${item.id}`, options);
          if (write === "412") {
            expectError(answer, 412, "precondition_failed");
            expect((await current(ctx, item.id)).json, `${method} ${label}`).to.deep.equal(item);
          } else {
            expect(answer.status, `${method} ${label}: ${answer.text}`).to.equal(applied);
            break; // the item has changed: the other writes' conditions are about version 1
          }
        }
      }
    },
  },
  {
    group: "conditional requests (RFC 9110 §13.2.2)",
    title:
      "answers 404 for a missing item whatever the conditional headers say, and 400 for a malformed one on every method",
    run: async (ctx) => {
      const missing = `items/${randomUUID()}`;
      const conditions: Record<string, string>[] = [
        { "If-Match": "*" },
        { "If-Match": '"1"' },
        { "If-None-Match": "*" },
      ];
      for (const headers of conditions) {
        expectError(await ctx.api("GET", missing, { headers }), 404, "not_found");
        expectError(await ctx.api("PUT", missing, { json: { name: "x" }, headers }), 404, "not_found");
        expectError(await ctx.api("PATCH", missing, { json: { a: 1 }, headers }), 404, "not_found");
        expectError(await ctx.api("DELETE", missing, { headers }), 404, "not_found");
      }
      const { json: item } = await ctx.create({ name: "malformed conditions" });
      const malformed: Record<string, string>[] = [
        { "If-Match": "garbage" },
        { "If-None-Match": "3" },
        { "If-Match": '"1", *' },
      ];
      for (const headers of malformed) {
        const label = JSON.stringify(headers);
        for (const [method, path, json] of everyRoute(item.id)) {
          expectError(await ctx.api(method, path, { json, headers }), 400, "validation_failed");
          expect((await current(ctx, item.id)).json, `${method} ${path} ${label}`).to.deep.equal(item);
        }
      }
    },
  },
  {
    group: "conditional requests (RFC 9110 §13.2.2)",
    title:
      "takes the collection as existing without an entity tag: If-Match * holds, tags fail (412); If-None-Match * fails (GET 304, POST 412)",
    run: async (ctx) => {
      const before = await itemCount(ctx);
      const refusing: Record<string, string>[] = [
        { "If-Match": '"1"' },
        { "If-None-Match": "*" },
        { "If-Match": 'W/"1"' },
      ];
      for (const headers of refusing) {
        expectError(await ctx.api("POST", "items", { json: { name: "refused" }, headers }), 412, "precondition_failed");
      }
      expect(await itemCount(ctx)).to.equal(before);
      const created = await ctx.create({ name: "collection conditions" }, { "If-Match": "*" });
      const alsoCreated = await ctx.create({ name: "collection conditions" }, { "If-None-Match": '"1"' });
      expect(created.json.id).not.to.equal(alsoCreated.json.id);
      expectError(
        await ctx.api("GET", "items?limit=1", { headers: { "If-Match": '"1"' } }),
        412,
        "precondition_failed",
      );
      const notModified = await ctx.api("GET", "items?limit=1", { headers: { "If-None-Match": "*" } });
      expect(notModified.status).to.equal(304);
      expect(notModified.text).to.equal("");
      expect((await ctx.api("GET", "items?limit=1", { headers: { "If-Match": "*" } })).status).to.equal(200);
    },
  },
  {
    group: "HEAD",
    title: "answers HEAD wherever GET is: GET's status and headers, no body",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "headed" });
      for (const path of [`items/${item.id}`, "items?limit=2"]) {
        const get = await ctx.api("GET", path);
        const head = await ctx.api("HEAD", path);
        expect(head.status, path).to.equal(get.status).and.equal(200);
        expect(head.text, path).to.equal("");
        for (const header of ["content-type", "etag", "cache-control", "x-content-type-options"]) {
          expect(head.headers.get(header), `${path} ${header}`).to.equal(get.headers.get(header));
        }
      }
      const missing = await ctx.api("HEAD", `items/${randomUUID()}`);
      expect(missing.status).to.equal(404);
      expect(missing.text).to.equal("");
      expect(missing.headers.get("x-request-id")).to.be.a("string");
      const notModified = await ctx.api("HEAD", `items/${item.id}`, { headers: { "If-None-Match": '"1"' } });
      expect(notModified.status).to.equal(304);
      expect(notModified.headers.get("etag")).to.equal('"1"');
    },
  },
  {
    group: "attribute names are data",
    title: "stores, patches, replaces and removes attributes named like Object.prototype members, as any other",
    run: async (ctx) => {
      const named = Object.fromEntries(PROTOTYPE_NAMES.map((name, index) => [name, index]));
      const { json: item } = await ctx.create({ name: "prototype names", ...named });
      expect(item).to.include(named);
      const patched = await ctx.api("PATCH", `items/${item.id}`, {
        json: { toString: { nested: true }, valueOf: null, hasOwnProperty: [1] },
      });
      expect(patched.status, patched.text).to.equal(200);
      expect(patched.json).to.include({ isPrototypeOf: 3, version: 2 });
      expect(patched.json.toString).to.deep.equal({ nested: true });
      expect(patched.json.hasOwnProperty).to.deep.equal([1]);
      expect(Object.keys(patched.json)).not.to.include("valueOf");
      const merged = await ctx.api("PATCH", `items/${item.id}`, { json: { toString: { more: 1 } } });
      expect(merged.json.toString).to.deep.equal({ nested: true, more: 1 });
      const replaced = await ctx.api("PUT", `items/${item.id}`, { json: { name: "replaced", valueOf: "v" } });
      expect(replaced.json).to.include({ valueOf: "v", version: 4 });
      expect(Object.keys(replaced.json)).not.to.include("toString");
    },
  },
  {
    group: "attribute names are data",
    title: "counts Object.prototype names like any other against the 50-attribute limit, in one round",
    run: async (ctx) => {
      for (const name of PROTOTYPE_NAMES) {
        const { json: item } = await ctx.create({ name: "full", ...attributes(50) });
        // A swap that ends at 50 attributes: 200.
        const swapped = await ctx.api("PATCH", `items/${item.id}`, { json: { [name]: 1, a0: null } });
        expect(swapped.status, `${name}: ${swapped.text}`).to.equal(200);
        expect(swapped.json).to.include({ [name]: 1, version: 2 });
        expect(Object.keys(swapped.json)).not.to.include("a0");
        // One more: 51, refused, nothing written.
        const refused = await ctx.api("PATCH", `items/${item.id}`, { json: { a0: 0, [`${name}X`]: 1 } });
        expectError(refused, 400, "validation_failed");
        expect((await current(ctx, item.id)).json).to.deep.equal(swapped.json);
      }
    },
  },
  {
    group: "attribute names are data",
    title: "answers header and query parameter names like __proto__ or toString as any other name",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "hostile names" });
      for (const name of ["__proto__", "toString", "constructor", "hasOwnProperty"]) {
        const answer = await ctx.api("GET", `items/${item.id}?${name}=1`, { headerLines: [[name, "x"]] });
        expect(answer.status, name).to.equal(200);
        expect(answer.json).to.deep.equal(item);
        const page = await ctx.api("GET", `items?limit=1&${name}=1`, { headerLines: [[name, "x"]] });
        expect(page.status, name).to.equal(200);
      }
    },
  },
  {
    group: "ownership (sign-in)",
    title: "answers another user 404 for an item on every route, and leaves the item as it was",
    needsSignIn: true,
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "alice's", secret: "s" });
      for (const headers of [{}, { "If-Match": "*" }, { "If-Match": '"1"' }] as Record<string, string>[]) {
        const label = JSON.stringify(headers);
        for (const [method, json] of [
          ["GET", undefined],
          ["HEAD", undefined],
          ["PUT", { name: "bob's now" }],
          ["PATCH", { secret: null }],
          ["DELETE", undefined],
        ] as const) {
          const answer = await ctx.other(method, `items/${item.id}`, { json, headers });
          expect(answer.status, `${method} ${label}`).to.equal(404);
          if (method !== "HEAD") {
            expectError(answer, 404, "not_found");
          }
        }
      }
      expect((await current(ctx, item.id)).json).to.deep.equal(item);
    },
  },
  {
    group: "ownership (sign-in)",
    title: "lists only the caller's items, newest first, on every page",
    needsSignIn: true,
    run: async (ctx) => {
      const mine: string[] = [];
      for (let index = 0; index < 5; index++) {
        mine.push(String((await ctx.create({ name: `mine ${index}` })).json.id));
      }
      const theirs = String((await ctx.other("POST", "items", { json: { name: "theirs" } })).json.id);
      const walk = async (request: Request): Promise<{ id: string; createdAt: string }[]> => {
        const seen: { id: string; createdAt: string }[] = [];
        let cursor: string | undefined;
        do {
          const page = await request("GET", `items?limit=3${cursor === undefined ? "" : `&cursor=${cursor}`}`);
          expect(page.status, page.text).to.equal(200);
          seen.push(...(page.json.items as { id: string; createdAt: string }[]));
          cursor = page.json.nextCursor;
        } while (cursor !== undefined && seen.length < MAX_WALKED_ITEMS);
        return seen;
      };
      const own = await walk(ctx.api);
      const ids = own.map((item) => item.id);
      expect(ids).to.include.members(mine);
      expect(ids).not.to.include(theirs);
      // Newest first: ids are time-ordered, and the walk goes down them.
      expect(ids).to.deep.equal([...ids].sort().reverse());
      expect(own.map((item) => item.createdAt)).to.deep.equal(
        own
          .map((item) => item.createdAt)
          .sort()
          .reverse(),
      );
      expect(ids.indexOf(mine[4] ?? "")).to.be.below(ids.indexOf(mine[0] ?? ""));
      const others = (await walk(ctx.other)).map((item) => item.id);
      expect(others).to.include(theirs);
      expect(others.filter((id) => ids.includes(id))).to.deep.equal([]);
      expect(own.length).to.equal((await itemCount(ctx)) ?? own.length);
    },
  },
  {
    group: "ownership (sign-in)",
    title: "keeps Idempotency-Keys per user: one user's key never replays, refuses or blocks for another",
    needsSignIn: true,
    run: async (ctx) => {
      const key = `shared-${randomUUID()}`;
      const body = { name: "same key, same body" };
      const alice = await ctx.create(body, { "Idempotency-Key": key });
      const bob = await ctx.other("POST", "items", { json: body, headers: { "Idempotency-Key": key } });
      expect(bob.status, bob.text).to.equal(201);
      expect(bob.json.id).not.to.equal(alice.json.id);
      const bobOther = await ctx.other("POST", "items", {
        json: { name: "another body" },
        headers: { "Idempotency-Key": `${key}-2` },
      });
      expect(bobOther.status).to.equal(201);
      const aliceOther = await ctx.create({ name: "yet another body" }, { "Idempotency-Key": `${key}-2` });
      expect(aliceOther.json.id).not.to.equal(bobOther.json.id);
      // Each replays their own.
      expect((await ctx.create(body, { "Idempotency-Key": key })).json).to.deep.equal(alice.json);
      const bobAgain = await ctx.other("POST", "items", { json: body, headers: { "Idempotency-Key": key } });
      expect(bobAgain.json).to.deep.equal(bob.json);
    },
  },
  {
    group: "ownership (sign-in)",
    title: "refuses one user's cursor to another with 400 invalid_cursor",
    needsSignIn: true,
    run: async (ctx) => {
      await ctx.ownItems(3);
      const { json: page } = await ctx.api("GET", "items?limit=1");
      const cursor = String(page.nextCursor);
      expect((await ctx.api("GET", `items?limit=1&cursor=${cursor}`)).status).to.equal(200);
      expectError(await ctx.other("GET", `items?limit=1&cursor=${cursor}`), 400, "invalid_cursor");
    },
  },
  {
    group: "ownership (sign-in)",
    title:
      "answers 401 unauthorized in the envelope, with WWW-Authenticate, to a request without a valid ID token on every route",
    needsSignIn: true,
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "guarded" });
      const users = ctx.users;
      if (users === undefined) {
        throw new Error("this check needs signed-in users");
      }
      const cases: [string, Request][] = [
        ["no token", ctx.withHeaders({})],
        ...Object.entries(users.refused).map(([label, token]): [string, Request] => [
          label,
          ctx.withHeaders({ Authorization: token }),
        ]),
      ];
      for (const [label, request] of cases) {
        for (const [method, path, json] of everyRoute(item.id)) {
          const answer = await request(method, path, { json });
          expectError(answer, 401, "unauthorized");
          expect(answer.headers.get("www-authenticate"), `${label}: ${method} ${path}`).to.match(/^Bearer /);
        }
      }
      expect((await current(ctx, item.id)).json).to.deep.equal(item);
    },
  },
  {
    group: "gateway behaviour",
    title: "requires the API key on every route exactly where the stack does: 403 forbidden without one",
    run: async (ctx) => {
      const { json: item } = await ctx.create({ name: "keyed" });
      for (const [method, path, json] of everyRoute(item.id)) {
        const anonymous = await ctx.withoutKey(method, path, { json });
        if (ctx.settings.apiKeys.required) {
          expectError(anonymous, 403, "forbidden");
        } else {
          expect(anonymous.status, `${method} ${path}`).to.be.within(200, 204);
        }
      }
    },
  },
  {
    group: "gateway behaviour",
    title: "answers CORS preflights: the allowed methods and headers for an allowed origin, none for another",
    run: async (ctx) => {
      const origins = ctx.settings.corsAllowedOrigins;
      const allowed = origins.includes("*") ? "https://any.example" : origins[0];
      for (const [path, methods] of [
        ["items", "POST, GET, HEAD, OPTIONS"],
        [`items/${randomUUID()}`, "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"],
      ]) {
        if (allowed !== undefined) {
          const preflight = await ctx.anonymous("OPTIONS", path, {
            headers: { Origin: allowed, "Access-Control-Request-Method": "PUT" },
          });
          expect(preflight.status).to.equal(204);
          expect(preflight.headers.get("access-control-allow-origin")).to.equal(origins.includes("*") ? "*" : allowed);
          expect(preflight.headers.get("access-control-allow-methods")).to.equal(methods);
          expect(headerNames(preflight.headers.get("access-control-allow-headers"))).to.deep.equal(
            corsRequestHeaders(ctx.settings.signIn.mode),
          );
        }
        if (!origins.includes("*")) {
          const refused = await ctx.anonymous("OPTIONS", path, { headers: { Origin: "https://refused.example" } });
          expect(refused.status).to.equal(204);
          expect(refused.headers.get("access-control-allow-origin")).to.equal(null);
          expect(refused.headers.get("access-control-allow-methods")).to.equal(null);
        }
      }
    },
  },
  {
    group: "gateway behaviour",
    title: "answers unknown routes with 404 not_found",
    run: async (ctx) => {
      expectError(await ctx.api("GET", "nothing-here"), 404, "not_found");
      expectError(await ctx.api("GET", `items/${randomUUID()}/more`), 404, "not_found");
    },
  },
  {
    group: "gateway behaviour",
    title: "answers a known path with another method with 405 and Allow",
    run: async (ctx) => {
      const collection = await ctx.api("DELETE", "items");
      expectError(collection, 405, "method_not_allowed");
      expect(collection.headers.get("allow")).to.equal("POST, GET, HEAD, OPTIONS");
      const single = await ctx.api("POST", `items/${randomUUID()}`, { json: { name: "x" } });
      expectError(single, 405, "method_not_allowed");
      expect(single.headers.get("allow")).to.equal("GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
    },
  },
  {
    group: "gateway behaviour",
    title: "validates bodies against the route's model before the handler runs",
    run: async (ctx) => {
      // The gateway's BAD_REQUEST_BODY message, not the handler's (which names the rule broken).
      const { message } = GATEWAY_RESPONSES.BAD_REQUEST_BODY ?? {};
      const before = await itemCount(ctx);
      const response = await ctx.api("POST", "items", { json: { name: 5 } });
      expectError(response, 400, "validation_failed");
      expect(response.json.error.message).to.equal(message);
      expect(await itemCount(ctx)).to.equal(before);
      // A missing item: the handler would answer 404 after parsing the body. The model checks the
      // length of a field a PATCH may set to null; its type only the handler can check (API
      // Gateway's models have no nullable, and no anyOf), and does, naming the rule.
      const patch = (description: unknown) =>
        ctx.api("PATCH", `items/${randomUUID()}`, {
          json: { description },
          contentType: "application/merge-patch+json",
        });
      const tooLong = await patch("d".repeat(2001));
      expectError(tooLong, 400, "validation_failed");
      expect(tooLong.json.error.message).to.equal(message);
      const wrongType = await patch(5);
      expectError(wrongType, 400, "validation_failed");
      expect(wrongType.json.error.message).to.equal("description must be a string of 0 to 2000 characters");
    },
  },
];
