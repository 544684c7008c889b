/**
 * fast-check arbitraries for the fuzzing suite: request bodies, headers, paths and query
 * strings, hostile and ordinary mixed. Choices that depend on what is stored at the time of
 * the request (an existing item's id, its current ETag, a cursor the API would issue) stay
 * symbolic here and are resolved when the request is sent.
 */
import * as fc from "fast-check";

/** Which item a request names. */
export type IdChoice =
  | { kind: "existing"; pick: number }
  /** An existing id written differently: upper case, fully percent-encoded, or with a suffix. */
  | { kind: "variant"; pick: number; variant: "upper" | "encoded" | "suffix" }
  /** A request-target segment sent as is (already valid in a request line). */
  | { kind: "literal"; segment: string };

export type TagChoice =
  { kind: "current" | "stale" | "ahead" | "weak-current" | "list-with-current" } | { kind: "literal"; value: string };

export type CursorChoice =
  | { kind: "issued"; id: IdChoice }
  | { kind: "tampered"; id: IdChoice; position: number; replacement: string }
  | { kind: "literal"; value: string };

export interface HeaderChoices {
  contentType: string | undefined;
  /** Zero, one or two (a repeated header) If-Match values. */
  ifMatch: TagChoice[];
  ifNoneMatch: TagChoice[];
  idempotencyKey: string | undefined;
  correlationId: string[];
  /** Picks the spelling of header names: canonical, lower or upper case. */
  casing: number;
  extra: [string, string][];
}

/** A body as sent: text (UTF-8) or raw bytes; undefined sends none. */
export type BodyChoice = string | Uint8Array | undefined;

const char = (from: number, to: number) => fc.integer({ min: from, max: to }).map((code) => String.fromCharCode(code));

/** What Node's client and server accept in a header value: HTAB, visible ASCII, space, obs-text. */
export const headerText = fc.string({
  unit: fc.oneof({ weight: 8, arbitrary: char(0x20, 0x7e) }, char(0x09, 0x09), char(0x80, 0xff)),
  maxLength: 40,
});

/** Characters a request target may carry unencoded (visible ASCII). */
const targetText = (maxLength: number) => fc.string({ unit: char(0x21, 0x7e), maxLength });

const UNRESERVED = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]$/;

/** Percent-encodes a string's UTF-8 bytes (lone surrogates become U+FFFD, as any client would send). */
export function encodeSegment(value: string): string {
  return [...Buffer.from(value, "utf8")]
    .map((byte) => {
      const character = String.fromCharCode(byte);
      return UNRESERVED.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

export const idChoice: fc.Arbitrary<IdChoice> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("existing" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("variant" as const),
      pick: fc.nat(),
      variant: fc.constantFrom("upper" as const, "encoded" as const, "suffix" as const),
    }),
  },
  { weight: 3, arbitrary: fc.uuid({ version: 4 }).map((segment) => ({ kind: "literal" as const, segment })) },
  { weight: 2, arbitrary: targetText(40).map((segment) => ({ kind: "literal" as const, segment })) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: "binary", maxLength: 20 })
      .map((value) => ({ kind: "literal" as const, segment: encodeSegment(value) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("%", "%zz", "%E0%A4", "%C0%AF", "..", ".", "%2e%2e", "%00", "%2F", "a%2Fb", "", "%20", "*", "{id}")
      .map((segment) => ({ kind: "literal" as const, segment })),
  },
);

export const tagChoice: fc.Arbitrary<TagChoice> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .constantFrom(
        "current" as const,
        "stale" as const,
        "ahead" as const,
        "weak-current" as const,
        "list-with-current" as const,
      )
      .map((kind) => ({ kind })),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "*",
          " * ",
          'W/"1"',
          'w/"1"',
          '"1", "2"',
          '"1" "2"',
          '""',
          '"-1"',
          '"01"',
          '"1.5"',
          '"1e3"',
          '"999999999999999"',
          '"9999999999999999"',
          'W/"*"',
          "1",
          '"1",',
          ",",
          ", ,",
          '*, "1"',
          "garbage",
        ),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((version) => `"${version}"`),
        headerText,
      )
      .map((value) => ({ kind: "literal" as const, value })),
  },
);

const idempotencyKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("key-a", "key-b", "key-c") },
  { weight: 2, arbitrary: fc.string({ unit: char(0x20, 0x7e), minLength: 1, maxLength: 128 }) },
  { weight: 1, arbitrary: fc.constantFrom("k".repeat(128), "k".repeat(129), "", " ", "a\tb") },
  { weight: 1, arbitrary: headerText },
);

const correlationId = fc.oneof(
  fc.uuid(),
  fc.string({ unit: char(0x21, 0x7e), minLength: 1, maxLength: 128 }),
  fc.constantFrom("c".repeat(128), "c".repeat(129), "has space"),
  headerText,
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant("application/json") },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      undefined,
      "application/json; charset=utf-8",
      'application/json;charset="UTF-8"',
      "Application/JSON",
      "application/merge-patch+json",
      "application/vnd.api+json",
      "application/json; charset=iso-8859-1",
      "application/json, text/plain",
      "text/plain",
      "text/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "json",
      "",
      ";",
      "application/",
    ),
  },
  { weight: 1, arbitrary: headerText },
);

export const headerChoices: fc.Arbitrary<HeaderChoices> = fc.record({
  contentType,
  ifMatch: fc.array(tagChoice, { maxLength: 2 }),
  ifNoneMatch: fc.array(tagChoice, { maxLength: 2 }),
  idempotencyKey: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: idempotencyKey }),
  correlationId: fc.array(correlationId, { maxLength: 2 }),
  casing: fc.nat({ max: 2 }),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom("Origin", "Accept", "X-Api-Key", "X-Forwarded-Proto", "X-Amz-Target", "Authorization", "X-Foo"),
      headerText,
    ),
    { maxLength: 2 },
  ),
});

// ---------------------------------------------------------------------------------------------
// Bodies. Built as JSON text so that duplicate keys, prototype keys and numbers JavaScript
// cannot hold (1e400, 30-digit integers) reach the server as written.

const attributeName = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom("status", "data", "value", "date", "type", "ttl", "user", "tags", "attrs", "a", "B_1"),
  },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,63}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "id",
      "version",
      "createdAt",
      "updatedAt",
      "__proto__",
      "constructor",
      "prototype",
      "1a",
      "_a",
      "a-b",
      "a.b",
      "",
      "x".repeat(64),
      "x".repeat(65),
      "Name",
      "ñ",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const specialNumberText = fc.constantFrom(
  "9007199254740991",
  "9007199254740992",
  "-9007199254740993",
  "123456789012345678901234567890",
  "1e125",
  "9.999e125",
  "1e126",
  "1e-130",
  "1e-131",
  "5e-324",
  "1e400",
  "-1e400",
  "1e-400",
  "-0",
  "0.1",
  "1.7976931348623157e308",
  "1E2",
);

/** Nesting of `depth` levels (arrays and objects alternating), around the limit of 8. */
const nestedText = fc
  .integer({ min: 6, max: 11 })
  .map((depth) =>
    Array.from({ length: depth }).reduce<string>(
      (inner, _, level) => (level % 2 ? `[${inner}]` : `{"k":${inner}}`),
      "1",
    ),
  );

const valueText: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: specialNumberText },
  { weight: 1, arbitrary: nestedText },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: "binary" }).map((value) => JSON.stringify(value)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{}}}',
      '{"prototype":1}',
      '{"":1}',
      `{"${"k".repeat(255)}":1}`,
      `{"${"k".repeat(256)}":1}`,
      '{"a":1,"a":{"b":2}}',
      '{"m":{"n":null}}',
      "[]",
      "{}",
    ),
  },
);

const nameText = fc.oneof(
  { weight: 8, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((value) => JSON.stringify(value)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 198, max: 202 }), fc.constantFrom("a", "é", "😀"))
      .map(([length, unit]) => JSON.stringify(unit.repeat(length))),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 10 }).map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.constantFrom('""', "null", "1", "true", "[]", "{}", '["a"]', '" "') },
);

const descriptionText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 30 }).map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.integer({ min: 1999, max: 2001 }).map((length) => JSON.stringify("d".repeat(length))) },
  { weight: 1, arbitrary: fc.constantFrom("null", "0", "false", "{}", '"\\u0000"') },
);

function objectText(entries: [string, string][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

/** A JSON object body, mostly close to a valid item so that validation and storage both get exercised. */
export const itemBodyText: fc.Arbitrary<string> = fc
  .record({
    name: fc.option(nameText, { nil: undefined, freq: 8 }),
    description: fc.option(descriptionText, { nil: undefined, freq: 2 }),
    attributes: fc.array(fc.tuple(attributeName, valueText), { maxLength: 6 }),
    nameLast: fc.boolean(),
  })
  .map(({ name, description, attributes, nameLast }) => {
    const fixed: [string, string][] = [
      ...(name === undefined ? [] : [["name", name] as [string, string]]),
      ...(description === undefined ? [] : [["description", description] as [string, string]]),
    ];
    return objectText(nameLast ? [...attributes, ...fixed] : [...fixed, ...attributes]);
  });

const manyAttributesText = fc
  .integer({ min: 48, max: 53 })
  .map((count) =>
    objectText([
      ["name", '"many"'],
      ...Array.from({ length: count }, (_, index): [string, string] => [`a${index}`, "1"]),
    ]),
  );

/** A body of exactly 64 KiB plus `offset` bytes, around the handler's limit. */
const boundaryText = fc.tuple(fc.integer({ min: -3, max: 3 }), fc.constantFrom("a", "é")).map(([offset, unit]) => {
  const prefix = '{"name":"big","blob":"';
  const suffix = '"}';
  const fill = 64 * 1024 + offset - prefix.length - suffix.length;
  const units = Math.floor(fill / Buffer.byteLength(unit));
  return prefix + unit.repeat(units) + "a".repeat(fill - units * Buffer.byteLength(unit)) + suffix;
});

const junkText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    "",
    " ",
    "\n",
    "{",
    "}",
    '{"name":',
    "nul",
    "[",
    '"\\ud800"',
    '{"name":"a",}',
    "{'name':'a'}",
    '{"name":"a"}garbage',
    '\ufeff{"name":"a"}',
    '{"name":"a","__proto__":{"polluted":1}}',
    '{"name":"a","x":{"__proto__":{}}}',
    '{"name":"a","constructor":{"prototype":{}}}',
    '{"name":"a","name":"b"}',
    '{"name":"a","version":1}',
    '{"name":"a","id":"0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11"}',
  ),
);

const nonObjectText = fc
  .jsonValue({ maxDepth: 2 })
  .filter((value) => typeof value !== "object" || value === null || Array.isArray(value))
  .map((value) => JSON.stringify(value));

export const bodyChoice: fc.Arbitrary<BodyChoice> = fc.oneof(
  { weight: 14, arbitrary: itemBodyText },
  { weight: 1, arbitrary: manyAttributesText },
  { weight: 1, arbitrary: boundaryText },
  { weight: 1, arbitrary: nonObjectText },
  { weight: 2, arbitrary: junkText },
  { weight: 1, arbitrary: itemBodyText.chain((text) => fc.nat({ max: text.length }).map((cut) => text.slice(0, cut))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

// ---------------------------------------------------------------------------------------------
// Paths and query strings.

export type PathChoice =
  { kind: "raw"; path: string } | { kind: "item"; id: IdChoice; suffix: string } | { kind: "items" };

export const pathChoice: fc.Arbitrary<PathChoice> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: "items" as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("item" as const),
      id: idChoice,
      suffix: fc.oneof(
        { weight: 4, arbitrary: fc.constant("") },
        { weight: 2, arbitrary: fc.constantFrom("/", "/x", "/items", "/..", "/.", "//", "?", "#x", ";x", "%2F") },
        { weight: 1, arbitrary: targetText(10) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "/",
          "/items/",
          "//items",
          "/items//",
          "/ITEMS",
          "/Items",
          "/items/../items",
          "/./items",
          "/items/.",
          "/items%2F",
          "/%69tems",
          "/items?",
          "/items#frag",
          "/items;x",
          "/openapi.json",
          "/docs",
          "/docs/",
          "/docs/assets/",
          "/docs/assets/..%2F..%2Fpackage.json",
          "/docs/assets/swagger-ui.css",
          "/*",
          "/..",
          "/%",
        ),
        fc.array(targetText(12), { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join("/")}`),
        fc.webPath().map((path) => (path.startsWith("/") ? path : `/${path}`)),
      )
      .map((path) => ({ kind: "raw" as const, path })),
  },
);

const limitText = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 100 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "0",
      "101",
      "-1",
      "1.5",
      "01",
      "001",
      "0100",
      "1e2",
      " 5",
      "5 ",
      "+5",
      "",
      "abc",
      "0x10",
      "١٠",
      "100000",
      "NaN",
      "Infinity",
      "%",
      "%zz",
      "5%00",
    ),
  },
  { weight: 1, arbitrary: targetText(12) },
);

export const cursorChoice: fc.Arbitrary<CursorChoice> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("issued" as const), id: idChoice }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("tampered" as const),
      id: idChoice,
      position: fc.nat(),
      replacement: fc.constantFrom("A", "_", "-", ".", "=", "%41", ""),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        targetText(40),
        fc.base64String({ maxLength: 60 }),
        fc.constantFrom("", ".", "..", "a.b", "e30.AAAAAAAAAAAAAAAAAAAAAA", "x".repeat(513)),
        fc.string({ unit: "binary", maxLength: 20 }).map(encodeSegment),
      )
      .map((value) => ({ kind: "literal" as const, value })),
  },
);

export type QueryParameter =
  { name: string; kind: "limit"; value: string } | { name: string; kind: "cursor"; cursor: CursorChoice };

export const queryChoice: fc.Arbitrary<QueryParameter[]> = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        name: fc.constantFrom("limit", "limit", "limit", "LIMIT", "limit[]"),
        kind: fc.constant("limit" as const),
        value: limitText,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        name: fc.constantFrom("cursor", "cursor", "cursor", "Cursor"),
        kind: fc.constant("cursor" as const),
        cursor: cursorChoice,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        name: fc.constantFrom("offset", "x", "", "%", "a=b"),
        kind: fc.constant("limit" as const),
        value: targetText(8),
      }),
    },
  ),
  { maxLength: 4 },
);

// ---------------------------------------------------------------------------------------------
// Plausible writes: valid bodies and mostly valid headers, so that successful creates, replaces,
// patches (fast and read-merge-write paths), 412s and idempotent replays are exercised too.

const storableJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
    fc.string({ maxLength: 16 }),
    fc.string({ unit: "grapheme", maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie("value"), { maxKeys: 4 }),
  ),
})).value;

const validAttributeName = fc.oneof(
  fc.constantFrom("status", "data", "value", "date", "type", "ttl", "user", "tags", "attrs", "a", "B_1"),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,10}$/),
);

/** Merge patches: `null` removes, objects merge into maps or replace other values. */
const patchValue = fc.oneof({ weight: 4, arbitrary: storableJson }, { weight: 1, arbitrary: fc.constant(null) });

export const validBodyText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        name: fc.string({ minLength: 1, maxLength: 30 }),
        description: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        attributes: fc.array(fc.tuple(validAttributeName, patchValue), { maxLength: 5 }),
        // Without a name: a valid patch, a 400 on create and replace.
        dropName: fc.boolean().chain((drop) => (drop ? fc.boolean() : fc.constant(false))),
      })
      .map(({ name, description, attributes, dropName }) =>
        objectText([
          ...(dropName ? [] : [["name", JSON.stringify(name)] as [string, string]]),
          ...(description === undefined ? [] : [["description", JSON.stringify(description)] as [string, string]]),
          ...attributes.map(([key, value]): [string, string] => [key, JSON.stringify(value)]),
        ]),
      ),
  },
  // A few fixed bodies, so that a reused Idempotency-Key meets its own body again (a replay).
  { weight: 1, arbitrary: fc.constantFrom('{"name":"replayed"}', '{"name":"replayed","status":"new","n":1}') },
);

export const plausibleHeaders: fc.Arbitrary<HeaderChoices> = fc.record({
  contentType: fc.constantFrom(
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "application/merge-patch+json",
  ),
  ifMatch: fc.oneof(
    { weight: 2, arbitrary: fc.constant<TagChoice[]>([]) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          "current" as const,
          "current" as const,
          "stale" as const,
          "ahead" as const,
          "list-with-current" as const,
        )
        .map((kind): TagChoice[] => [{ kind }]),
    },
    { weight: 1, arbitrary: fc.constant<TagChoice[]>([{ kind: "literal", value: "*" }]) },
  ),
  ifNoneMatch: fc.constant([]),
  idempotencyKey: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom("key-a", "key-b", "key-c", "key-d") },
  ),
  correlationId: fc.array(fc.uuid(), { maxLength: 1 }),
  casing: fc.nat({ max: 2 }),
  extra: fc.constant([]),
});
