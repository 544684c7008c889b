/**
 * What the model-based runs send, as fast-check arbitraries of plain data ("recipes"): bodies
 * near every limit, hostile attribute names, every form of conditional header, Idempotency-Key
 * forms. A recipe names what depends on the state (which item, its current ETag, a key used
 * before) symbolically; commands.ts makes the request from it when the step runs, so a shrunk
 * sequence still means the same thing.
 */
import * as fc from "fast-check";
import { ATTRIBUTE_NAME, FORBIDDEN_KEYS, Json, MODEL_LIMITS } from "./reference";

/**
 * `usual` about `ratio` times as often as a value of `arbitrary`; a shrunk sequence goes back to
 * `usual`, so that it keeps only what its failure needs.
 */
function rarely<U, T>(usual: U, arbitrary: fc.Arbitrary<T>, ratio: number): fc.Arbitrary<U | T> {
  return fc.oneof(
    { withCrossShrink: true },
    { weight: Math.round(ratio * 2), arbitrary: fc.constant(usual) },
    { weight: 2, arbitrary },
  );
}

/** A JSON literal written as is, for numbers JavaScript cannot hold (`1e-400`). */
export interface RawJson {
  raw: string;
}

export type BodyValue = Json | RawJson | BodyValue[] | { [key: string]: BodyValue };

export const isRawJson = (value: unknown): value is RawJson =>
  typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).join() === "raw";

/**
 * Every `Object.prototype` member whose name an attribute may have (`toString`, `valueOf`,
 * `hasOwnProperty`, ...): read from the language, not listed; `constructor` is refused anywhere.
 */
export const PROTOTYPE_NAMES: readonly string[] = Object.getOwnPropertyNames(Object.prototype).filter(
  (name) => ATTRIBUTE_NAME.test(name) && !FORBIDDEN_KEYS.includes(name),
);

/** Names that meet a member of something else a server may hold keys in (arrays, maps, functions). */
const OTHER_MEMBER_NAMES = [
  "length",
  "size",
  "keys",
  "entries",
  "get",
  "set",
  "has",
  "delete",
  "call",
  "apply",
  "bind",
];

/** DynamoDB reserved words (a few of its 573) that are valid attribute names. */
export const RESERVED_WORDS = [
  "status",
  "data",
  "ttl",
  "user",
  "date",
  "type",
  "value",
  "count",
  "key",
  "order",
  "group",
  "table",
  "index",
  "comment",
  "timestamp",
  "year",
  "range",
  "level",
  "by",
  "all",
];

/** Valid names: ordinary ones, and the hostile ones that must just work. */
const HOSTILE_VALID_NAMES = [...PROTOTYPE_NAMES, ...OTHER_MEMBER_NAMES, ...RESERVED_WORDS];

/** Names that must be refused (400): prototype keys, dots, `#`, `:`, other breaches of the pattern. */
export const REFUSED_NAMES = [
  "__proto__",
  "constructor",
  "prototype",
  "a.b",
  "attrs.x",
  "#name",
  "a#b",
  ":v",
  "a:b",
  "__defineGetter__",
  "_private",
  "1abc",
  "a-b",
  "a b",
  "",
  "é",
  `a${"b".repeat(64)}`,
];

/** The filler attributes of items near the 50-attribute limit. */
export const fillerName = (index: number): string => `a${index}`;

export const attributeName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_VALID_NAMES) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 55 }).map(fillerName) },
  { weight: 1, arbitrary: fc.constantFrom("color", "price", "tags", "Z", `x${"y".repeat(63)}`) },
);

/** Keys of nested objects: anything 1..255 characters, prototype member names included. */
const nestedKey = fc
  .oneof(
    { weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, "a.b", "#x", ":y", "", "x") },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant("k".repeat(MODEL_LIMITS.maxNestedKeyLength)) },
  )
  .map((key) => (key === "" ? "empty" : key));

const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(
    0,
    1.5,
    -2.25,
    MODEL_LIMITS.maxSafeInteger,
    -MODEL_LIMITS.maxSafeInteger,
    MODEL_LIMITS.minNumberMagnitude,
    3.14e-100,
    -0,
  ),
  fc.string({ maxLength: 20 }),
  fc.constantFrom("é€😀", "line\nbreak", "\u0001control", ""),
  fc.boolean(),
  fc.constant(null),
);

/** A value nested exactly `depth` containers deep. */
export function nested(depth: number, leaf: Json = 1): Json {
  let value: Json = leaf;
  for (let level = 0; level < depth; level++) {
    value = level % 2 === 0 ? [value] : { toString: value };
  }
  return value;
}

/** Number literals JSON reads as another text: `-0` is 0, `1.0` is 1. */
const rawNumber: fc.Arbitrary<BodyValue> = fc.constantFrom<RawJson>(
  { raw: "-0" },
  { raw: "1.0" },
  { raw: "1E2" },
  { raw: "0.1e1" },
);

export const attributeValue: fc.Arbitrary<BodyValue> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: rawNumber },
  { weight: 2, arbitrary: fc.array(scalar, { maxLength: 4 }) },
  {
    weight: 2,
    arbitrary: fc
      .uniqueArray(fc.tuple(nestedKey, fc.oneof(scalar, fc.array(scalar, { maxLength: 2 }))), {
        maxLength: 3,
        selector: ([key]) => key,
      })
      .map((entries) => jsonObject(entries)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: MODEL_LIMITS.maxDepth }).map((depth) => nested(depth)) },
);

/** An object with these keys, prototype member names included, as own data properties. */
export function jsonObject<T>(entries: [string, T][]): { [key: string]: T } {
  const object: { [key: string]: T } = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

// ---------------------------------------------------------------------------------------------
// Bodies of creates and replaces

export type TextForm = "ordinary" | "max" | "max-astral" | "over" | "over-astral";

/** One thing wrong with a body (at most one, so that the answer does not hang on an order the contract leaves open). */
export type BodyFault =
  | { kind: "name"; form: "missing" | "empty" | "over" | "over-astral" | "number" | "null" }
  | { kind: "description"; form: "over" | "number" | "null" }
  | { kind: "read-only"; field: "id" | "version" | "createdAt" | "updatedAt" }
  | { kind: "refused-name"; name: string }
  | { kind: "nested-key"; key: "__proto__" | "constructor" | "prototype" | "" | "long" }
  | { kind: "value"; value: "depth-9" | "unsafe-integer" | "too-small" | "vanishing" | "too-large" }
  | { kind: "attributes"; count: 51 | 53 }
  | { kind: "size"; bytes: "over" }
  | { kind: "encoding"; form: "not-json" | "array" | "empty" | "bad-utf8" | "bom" | "string" };

export interface BodyRecipe {
  name: TextForm;
  description: "absent" | "ordinary" | "empty" | "max" | "max-astral" | "over";
  attrs: [string, BodyValue][];
  /** Filler attributes a0.. so that the item sits near the 50-attribute limit. */
  fill: number;
  /** Pad to exactly 64 KiB with a string attribute. */
  exactSize: boolean;
  fault: BodyFault | undefined;
  /** Sends the keys in another order. */
  shuffle: number;
}

export const bodyFault: fc.Arbitrary<BodyFault> = fc.oneof(
  fc.record({
    kind: fc.constant("name" as const),
    form: fc.constantFrom(
      "missing" as const,
      "empty" as const,
      "over" as const,
      "over-astral" as const,
      "number" as const,
      "null" as const,
    ),
  }),
  fc.record({
    kind: fc.constant("description" as const),
    form: fc.constantFrom("over" as const, "number" as const, "null" as const),
  }),
  fc.record({
    kind: fc.constant("read-only" as const),
    field: fc.constantFrom("id" as const, "version" as const, "createdAt" as const, "updatedAt" as const),
  }),
  fc.record({ kind: fc.constant("refused-name" as const), name: fc.constantFrom(...REFUSED_NAMES) }),
  fc.record({
    kind: fc.constant("nested-key" as const),
    key: fc.constantFrom(
      "__proto__" as const,
      "constructor" as const,
      "prototype" as const,
      "" as const,
      "long" as const,
    ),
  }),
  fc.record({
    kind: fc.constant("value" as const),
    value: fc.constantFrom(
      "depth-9" as const,
      "unsafe-integer" as const,
      "too-small" as const,
      "vanishing" as const,
      "too-large" as const,
    ),
  }),
  fc.record({ kind: fc.constant("attributes" as const), count: fc.constantFrom(51 as const, 53 as const) }),
  fc.record({ kind: fc.constant("size" as const), bytes: fc.constant("over" as const) }),
  fc.record({
    kind: fc.constant("encoding" as const),
    form: fc.constantFrom(
      "not-json" as const,
      "array" as const,
      "empty" as const,
      "bad-utf8" as const,
      "bom" as const,
      "string" as const,
    ),
  }),
);

const textForm: fc.Arbitrary<TextForm> = fc.oneof(
  { withCrossShrink: true },
  { weight: 8, arbitrary: fc.constant("ordinary" as const) },
  { weight: 1, arbitrary: fc.constantFrom("max" as const, "max-astral" as const) },
);

const attributeList = (maxLength: number) =>
  fc.uniqueArray(fc.tuple(attributeName, attributeValue), { maxLength, selector: ([name]) => name });

export const bodyRecipe: fc.Arbitrary<BodyRecipe> = fc.record({
  name: textForm,
  description: fc.oneof(
    { withCrossShrink: true },
    { weight: 6, arbitrary: fc.constantFrom("absent" as const, "ordinary" as const) },
    { weight: 1, arbitrary: fc.constantFrom("empty" as const, "max" as const, "max-astral" as const) },
  ),
  attrs: attributeList(6),
  fill: rarely(0, fc.integer({ min: MODEL_LIMITS.maxAttributes - 3, max: MODEL_LIMITS.maxAttributes }), 3),
  exactSize: rarely(false, fc.constant(true), 12),
  fault: rarely(undefined, bodyFault, 2.5),
  shuffle: fc.nat(),
});

// ---------------------------------------------------------------------------------------------
// Merge patches

export interface PatchRecipe {
  /** Attributes set (objects merge) or removed (null). */
  set: [string, BodyValue][];
  /** Removes this many of the item's attributes (its first ones). */
  removeExisting: number;
  /** Merges into an existing object attribute. */
  mergeIntoExisting: boolean;
  name: "absent" | TextForm;
  description: "absent" | "ordinary" | "null" | "max";
  fault: BodyFault | undefined;
  exactSize: boolean;
  shuffle: number;
}

export const patchRecipe: fc.Arbitrary<PatchRecipe> = fc.record({
  set: fc.uniqueArray(
    fc.tuple(
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES) }, { weight: 4, arbitrary: attributeName }),
      fc.oneof({ weight: 5, arbitrary: attributeValue }, { weight: 2, arbitrary: fc.constant(null) }),
    ),
    { maxLength: 4, selector: ([name]) => name },
  ),
  removeExisting: rarely(0, fc.integer({ min: 1, max: 3 }), 3),
  mergeIntoExisting: fc.boolean(),
  name: fc.oneof({ weight: 4, arbitrary: fc.constant("absent" as const) }, { weight: 1, arbitrary: textForm }),
  description: fc.constantFrom(
    "absent" as const,
    "absent" as const,
    "ordinary" as const,
    "null" as const,
    "max" as const,
  ),
  fault: rarely(undefined, bodyFault, 6),
  exactSize: rarely(false, fc.constant(true), 15),
  shuffle: fc.nat(),
});

// ---------------------------------------------------------------------------------------------
// Headers

/** How a request's Content-Type is written: its operation's type, a variant, another type, none. */
export type ContentTypeForm = "proper" | "json" | "charset" | "upper-case" | "latin1" | "text" | "none";

export const contentTypeForm: fc.Arbitrary<ContentTypeForm> = fc.oneof(
  { withCrossShrink: true },
  { weight: 20, arbitrary: fc.constant("proper" as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "json" as const,
      "charset" as const,
      "upper-case" as const,
      "latin1" as const,
      "text" as const,
      "none" as const,
    ),
  },
);

/** An entity-tag form, made from the target's current version when the request is built. */
export type TagForm =
  | "current"
  | "stale"
  | "ahead"
  | "weak-current"
  | "weak-stale"
  | "star"
  | "list-with-current"
  | "list-without-current"
  | "opaque"
  | "leading-zero"
  | "comma-inside"
  | "empty-elements"
  | "many";

/** A field that is not `*` nor a list of entity tags, or names none. */
export type MalformedForm =
  | "unquoted"
  | "unterminated"
  | "weak-unquoted"
  | "lower-case-weak"
  | "star-and-tag"
  | "empty"
  | "commas-only"
  | "space-inside"
  | "too-many";

export interface ConditionalRecipe {
  /** One header line per form (two: a list over repeated lines). */
  ifMatch: TagForm[];
  ifNoneMatch: TagForm[];
  malformed: { header: "If-Match" | "If-None-Match"; form: MalformedForm } | undefined;
  /** Header name casing: If-Match, if-match, IF-MATCH. */
  casing: 0 | 1 | 2;
}

const tagForm: fc.Arbitrary<TagForm> = fc.constantFrom(
  "current",
  "current",
  "stale",
  "ahead",
  "weak-current",
  "weak-stale",
  "star",
  "star",
  "list-with-current",
  "list-without-current",
  "opaque",
  "leading-zero",
  "comma-inside",
  "empty-elements",
  "many",
);

const tagLines = fc.oneof(
  { withCrossShrink: true },
  { weight: 3, arbitrary: fc.constant([] as TagForm[]) },
  { weight: 3, arbitrary: fc.array(tagForm, { minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.array(tagForm, { minLength: 2, maxLength: 2 }) },
);

export const NO_CONDITIONS: ConditionalRecipe = { ifMatch: [], ifNoneMatch: [], malformed: undefined, casing: 0 };

export const conditionalRecipe: fc.Arbitrary<ConditionalRecipe> = fc.oneof(
  { withCrossShrink: true },
  { weight: 4, arbitrary: fc.constant(NO_CONDITIONS) },
  {
    weight: 4,
    arbitrary: fc.record({
      ifMatch: tagLines,
      ifNoneMatch: tagLines,
      malformed: fc.constant(undefined),
      casing: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      ifMatch: fc.constant([] as TagForm[]),
      ifNoneMatch: fc.constant([] as TagForm[]),
      malformed: fc.record({
        header: fc.constantFrom("If-Match" as const, "If-None-Match" as const),
        form: fc.constantFrom<MalformedForm>(
          "unquoted",
          "unterminated",
          "weak-unquoted",
          "lower-case-weak",
          "star-and-tag",
          "empty",
          "commas-only",
          "space-inside",
          "too-many",
        ),
      }),
      casing: fc.constantFrom(0 as const, 1 as const, 2 as const),
    }),
  },
);

/** Who calls: with the stack's API key (where it wants one), without, or with a wrong one; from which origin. */
export interface CallerRecipe {
  /** Which of the run's users calls (items belong to their creator). */
  user: (typeof USERS)[number];
  /** Their ID token, none, or one the API must refuse. */
  token: "id" | "missing" | "garbage" | "expired" | "access" | "other-client";
  apiKey: "right" | "missing" | "wrong";
  origin: "none" | "allowed" | "other";
}

/** The users of a run on a sign-in stack: most requests are Alice's, some Bob's. */
export const USERS = ["alice", "bob"] as const;

export const callerRecipe: fc.Arbitrary<CallerRecipe> = fc.record({
  user: fc.oneof(
    { withCrossShrink: true },
    { weight: 4, arbitrary: fc.constant("alice" as const) },
    { weight: 1, arbitrary: fc.constant("bob" as const) },
  ),
  token: fc.oneof(
    { withCrossShrink: true },
    { weight: 40, arbitrary: fc.constant("id" as const) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "missing" as const,
        "garbage" as const,
        "expired" as const,
        "access" as const,
        "other-client" as const,
      ),
    },
  ),
  apiKey: fc.oneof(
    { withCrossShrink: true },
    { weight: 30, arbitrary: fc.constant("right" as const) },
    { weight: 1, arbitrary: fc.constantFrom("missing" as const, "wrong" as const) },
  ),
  origin: fc.oneof(
    { withCrossShrink: true },
    { weight: 6, arbitrary: fc.constant("none" as const) },
    { weight: 1, arbitrary: fc.constantFrom("allowed" as const, "other" as const) },
  ),
});

// ---------------------------------------------------------------------------------------------
// Which item, which key

/** Which item a request names. */
export type ItemPick =
  | { kind: "known"; index: number; prefer: "any" | "fullest" }
  | { kind: "missing"; id: string }
  | { kind: "malformed"; segment: string };

export const itemPick: fc.Arbitrary<ItemPick> = fc.oneof(
  { withCrossShrink: true },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("known" as const),
      index: fc.nat(),
      prefer: fc.constantFrom("any" as const, "any" as const, "fullest" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("missing" as const), id: fc.uuid({ version: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("malformed" as const),
      segment: fc.constantFrom("not-a-uuid", "123", "00000000-0000-0000-0000-00000000000G", "toString", "__proto__"),
    }),
  },
);

/** An Idempotency-Key: new, one used before (same body or another), or one the API must refuse. */
export type KeyRecipe =
  | { kind: "new"; key: string }
  | { kind: "reuse"; index: number; body: "same" | "same-reordered" | "other" }
  | { kind: "invalid"; form: "empty" | "too-long" | "comma" | "tab" | "latin1" }
  | { kind: "repeated"; lines: "same" | "different" | "new-then-used" };

/** Keys of 1..128 printable ASCII characters without a comma (spaces inside, quotes, ...). */
export const keyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc
        .integer({ min: 0x21, max: 0x7e })
        .filter((code) => code !== 0x2c)
        .map((code) => String.fromCharCode(code)),
      minLength: 1,
      maxLength: 40,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("a b", '"quoted"', "x".repeat(MODEL_LIMITS.idempotencyKeyMaxLength), 'W/"1"', "*"),
  },
);

/** A key to use: a new one, or one used before with the same body or another. */
export const keyRecipe: fc.Arbitrary<KeyRecipe> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("new" as const), key: keyText }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reuse" as const),
      index: fc.nat(),
      body: fc.constantFrom("same" as const, "same-reordered" as const, "other" as const),
    }),
  },
);

/** A key the API must refuse: empty, too long, a comma, a tab, Latin-1, or on two lines. */
export const badKeyRecipe: fc.Arbitrary<KeyRecipe> = fc.oneof(
  fc.record({
    kind: fc.constant("invalid" as const),
    form: fc.constantFrom("empty" as const, "too-long" as const, "comma" as const, "tab" as const, "latin1" as const),
  }),
  fc.record({
    kind: fc.constant("repeated" as const),
    lines: fc.constantFrom("same" as const, "different" as const, "new-then-used" as const),
  }),
);

// ---------------------------------------------------------------------------------------------
// Listing

export type LimitForm =
  | { kind: "default" }
  | { kind: "value"; limit: number }
  | { kind: "invalid"; text: "0" | "101" | "-1" | "abc" | "" | "1.5" | "1e1" };

export const limitForm: fc.Arbitrary<LimitForm> = fc.oneof(
  { withCrossShrink: true },
  { weight: 2, arbitrary: fc.constant({ kind: "default" as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("value" as const),
      limit: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(7, 20, 99, 100)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("invalid" as const),
      text: fc.constantFrom(
        "0" as const,
        "101" as const,
        "-1" as const,
        "abc" as const,
        "" as const,
        "1.5" as const,
        "1e1" as const,
      ),
    }),
  },
);

export type CursorForm =
  | { kind: "none" }
  | { kind: "issued"; index: number }
  | { kind: "tampered"; index: number }
  | { kind: "garbage"; text: string };

export const cursorForm: fc.Arbitrary<CursorForm> = fc.oneof(
  { withCrossShrink: true },
  { weight: 6, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("issued" as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("tampered" as const), index: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("garbage" as const),
      text: fc.constantFrom("abc", "e30", "e30.AAAA", "!!!", "a".repeat(300)),
    }),
  },
);
