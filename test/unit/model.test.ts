/** handlers/model.ts: validation of client input, JSON Merge Patch, the response shape. */
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import {
  Json,
  NUMBER_RULE,
  JsonObject,
  StoredItem,
  applyMergePatch,
  etagOf,
  isStorableNumber,
  isStoredItem,
  mergeItem,
  parseItemInput,
  parseItemPatch,
  toResponseItem,
} from "../../handlers/model";
import { expectHttpError } from "./fixtures";

const NAME_MESSAGE = "name must be a string of 1 to 200 characters";
const DESCRIPTION_MESSAGE = "description must be a string of 0 to 2000 characters";
const BODY_MESSAGE = "the request body must be a JSON object";
const LIMIT_MESSAGE = "an item holds at most 50 attributes besides name and description";

const attributeNameMessage = (name: string): string =>
  `attribute name ${JSON.stringify(name)} is invalid: names start with a letter and hold at most 64 letters, digits or underscores`;
const numberMessage = (attribute: string, value: number): string =>
  `attribute ${attribute} holds the number ${value}, which cannot be stored: numbers must be integers of magnitude at most 9007199254740991 (2^53 - 1), or other numbers of magnitude at least 1e-130`;
const nestedKeyMessage = (attribute: string, key: string): string =>
  `attribute ${attribute} has the key ${JSON.stringify(key)}: nested keys hold 1 to 255 characters and are not __proto__, constructor or prototype`;
const depthMessage = (attribute: string): string => `attribute ${attribute} is nested deeper than 8 levels`;

/** `count` attributes a1..aN holding `value`. */
function attributes(count: number, value: Json = 1, prefix = "a"): JsonObject {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index + 1}`, value]));
}

/** An array nested `depth` levels deep around `inner`. */
function nestedArray(depth: number, inner: Json = 1): Json {
  let value = inner;
  for (let level = 0; level < depth; level++) {
    value = [value];
  }
  return value;
}

/** An object nested `depth` levels deep around `inner`. */
function nestedObject(depth: number, inner: Json = 1): Json {
  let value = inner;
  for (let level = 0; level < depth; level++) {
    value = { k: value };
  }
  return value;
}

function storedItem(overrides: Partial<StoredItem> = {}): StoredItem {
  return {
    id: "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11",
    name: "Espresso machine",
    description: "Dual boiler",
    attrs: { status: "in-stock", price: 1200, tags: ["coffee"], dims: { w: 30, h: 40 } },
    version: 3,
    createdAt: "2026-01-01T12:00:00.000Z",
    updatedAt: "2026-01-02T12:00:00.000Z",
    ...overrides,
  };
}

const parsers = [
  { label: "parseItemInput", parse: (body: unknown): unknown => parseItemInput(body) },
  { label: "parseItemPatch", parse: (body: unknown): unknown => parseItemPatch(body) },
];

describe("handlers/model", () => {
  describe("parseItemInput", () => {
    it("defaults description to an empty string and collects no attributes", () => {
      expect(parseItemInput({ name: "Espresso" })).to.deep.equal({ name: "Espresso", description: "", attrs: {} });
    });

    it("puts every other field, reserved words included, into attrs with its JSON value", () => {
      const body = {
        name: "Espresso",
        description: "Dual boiler",
        status: "in-stock",
        data: { nested: [1, { x: null }, "s"], empty: {} },
        type: true,
        value: null,
        ttl: 0,
        user: [],
      };
      expect(parseItemInput(body)).to.deep.equal({
        name: "Espresso",
        description: "Dual boiler",
        attrs: {
          status: "in-stock",
          data: { nested: [1, { x: null }, "s"], empty: {} },
          type: true,
          value: null,
          ttl: 0,
          user: [],
        },
      });
    });

    it("refuses a body that is not a JSON object", () => {
      for (const body of [null, undefined, [], [{ name: "x" }], "name", 42, true]) {
        expectHttpError(() => parseItemInput(body), 400, "validation_failed", BODY_MESSAGE);
      }
    });

    it("requires name: a string of 1 to 200 characters, counted in code points", () => {
      expect(parseItemInput({ name: "x".repeat(200) }).name).to.equal("x".repeat(200));
      // 200 astral characters are 400 UTF-16 code units: still 200 characters.
      expect(parseItemInput({ name: "😀".repeat(200) }).name).to.equal("😀".repeat(200));
      for (const name of [undefined, null, "", "x".repeat(201), "😀".repeat(201), 5, ["x"], { x: 1 }]) {
        expectHttpError(() => parseItemInput({ name }), 400, "validation_failed", NAME_MESSAGE);
      }
      expectHttpError(() => parseItemInput({ description: "d" }), 400, "validation_failed", NAME_MESSAGE);
    });

    it("takes description as a string of 0 to 2000 characters; null is not a string here", () => {
      expect(parseItemInput({ name: "n", description: "" }).description).to.equal("");
      expect(parseItemInput({ name: "n", description: "d".repeat(2000) }).description).to.equal("d".repeat(2000));
      for (const description of [null, "d".repeat(2001), 3, false, ["d"]]) {
        expectHttpError(
          () => parseItemInput({ name: "n", description }),
          400,
          "validation_failed",
          DESCRIPTION_MESSAGE,
        );
      }
    });

    it("refuses every server-managed field with 400 read_only_field, before anything else", () => {
      for (const field of ["id", "version", "createdAt", "updatedAt"]) {
        expectHttpError(
          () => parseItemInput({ name: "n", [field]: "x" }),
          400,
          "read_only_field",
          `${field} is managed by the server and cannot be set`,
        );
      }
      // Named even when null, and ahead of the missing name.
      expectHttpError(
        () => parseItemInput({ version: null }),
        400,
        "read_only_field",
        "version is managed by the server and cannot be set",
      );
      expectHttpError(
        () => parseItemInput({ name: "n", id: "a", updatedAt: "b" }),
        400,
        "read_only_field",
        "id, updatedAt are managed by the server and cannot be set",
      );
    });

    it("accepts attribute names that match ^[A-Za-z][A-Za-z0-9_]{0,63}$", () => {
      const longest = "a" + "B9_".repeat(21); // 64 characters
      expect(longest).to.have.length(64);
      const names = ["a", "Z", "a1", "A_b_9", "status", "name_", "Description", longest];
      const body = { name: "n", ...Object.fromEntries(names.map((name) => [name, 1])) };
      expect(Object.keys(parseItemInput(body).attrs)).to.deep.equal(names);
    });

    it("refuses every other attribute name, expression syntax included", () => {
      const names = [
        "a = :x, b",
        "_a",
        "1a",
        "a-b",
        "a b",
        "a.b",
        "a[0]",
        "#a",
        ":a",
        "é",
        "aé",
        "",
        "a\n",
        "__proto__",
        "a" + "b".repeat(64),
      ];
      for (const name of names) {
        expectHttpError(
          () => parseItemInput({ name: "n", [name]: 1 }),
          400,
          "validation_failed",
          attributeNameMessage(name),
        );
      }
    });

    it("holds at most 50 attributes besides name and description", () => {
      expect(Object.keys(parseItemInput({ name: "n", description: "d", ...attributes(50) }).attrs)).to.have.length(50);
      expectHttpError(() => parseItemInput({ name: "n", ...attributes(51) }), 400, "validation_failed", LIMIT_MESSAGE);
      // null is a value like any other in a create: it counts.
      expectHttpError(
        () => parseItemInput({ name: "n", ...attributes(51, null) }),
        400,
        "validation_failed",
        LIMIT_MESSAGE,
      );
    });

    it("allows nesting depth 8 and refuses 9, in arrays, objects and mixtures", () => {
      const mixed8: Json = { a: [{ b: [{ c: [{ d: [1] }] }] }] };
      expect(
        parseItemInput({ name: "n", deep: nestedArray(8), obj: nestedObject(8), mixed: mixed8 }).attrs,
      ).to.deep.equal({ deep: nestedArray(8), obj: nestedObject(8), mixed: mixed8 });
      for (const value of [nestedArray(9), nestedObject(9), [mixed8], nestedArray(9, {}), nestedObject(8, [])]) {
        expectHttpError(
          () => parseItemInput({ name: "n", deep: value }),
          400,
          "validation_failed",
          depthMessage("deep"),
        );
      }
    });

    // A recursive depth count overflows the stack a few thousand levels down (a RangeError, so
    // 500); such a value fits well inside the 64 KiB body limit ("[" x 20000 is 40 KB).
    it("refuses a value nested 20,000 levels deep with 400, not a stack overflow", () => {
      const deep = JSON.parse(`${"[".repeat(20000)}${"]".repeat(20000)}`) as Json;
      expectHttpError(() => parseItemInput({ name: "n", deep }), 400, "validation_failed", depthMessage("deep"));
      expectHttpError(() => parseItemPatch({ deep }), 400, "validation_failed", depthMessage("deep"));
    });

    it("accepts numbers DynamoDB stores exactly", () => {
      const numbers = [
        0,
        -0,
        1,
        -1,
        1.5,
        -123.456,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        1e-130,
        -1e-130,
        2.5e-100,
        0.1,
      ];
      const body = { name: "n", list: numbers, nested: { deeper: { x: 1e-130 } } };
      expect(parseItemInput(body).attrs).to.deep.equal({ list: numbers, nested: { deeper: { x: 1e-130 } } });
    });

    it("holds the number rule at its boundaries: 2^53, 1e125, 1e126, -0, 1e-130", () => {
      const boundaries: [number, boolean][] = [
        [2 ** 53 - 1, true],
        [-(2 ** 53 - 1), true],
        [2 ** 53, false],
        [-(2 ** 53), false],
        // The largest doubles that are not integers sit just below 2^52.
        [2 ** 52 - 0.5, true],
        [1e125, false],
        [1e126, false],
        [-1e126, false],
        [-0, true],
        [1e-130, true],
        [-1e-130, true],
        [9.999999999999999e-131, false],
      ];
      for (const [value, accepted] of boundaries) {
        expect(isStorableNumber(value), String(value)).to.equal(accepted);
        if (accepted) {
          expect(parseItemInput({ name: "n", n: value }).attrs.n).to.equal(value);
        } else {
          expectHttpError(
            () => parseItemInput({ name: "n", n: value }),
            400,
            "validation_failed",
            numberMessage("n", value),
          );
        }
      }
    });

    it("says the number rule in the README exactly as the error message does", () => {
      const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8").replace(/\s+/g, " ");
      expect(readme).to.contain(NUMBER_RULE);
      expect(numberMessage("n", 1)).to.contain(NUMBER_RULE);
    });

    it("refuses integers beyond 2^53 and magnitudes below 1e-130, wherever they sit", () => {
      const refused = [2 ** 53, -(2 ** 53), 1e20, -1e20, 1e300, 9.9e-131, -9.9e-131, 5e-324, NaN, Infinity, -Infinity];
      for (const value of refused) {
        expectHttpError(
          () => parseItemInput({ name: "n", n: value }),
          400,
          "validation_failed",
          numberMessage("n", value),
        );
        expectHttpError(
          () => parseItemInput({ name: "n", list: [1, { x: [value] }] }),
          400,
          "validation_failed",
          numberMessage("list", value),
        );
      }
    });

    it("allows nested keys of 1 to 255 characters, any characters, and refuses the others", () => {
      const key255 = "k".repeat(255);
      const value = { [key255]: 1, "a b": 2, "#x": 3, ":y": 4, é: 5, "a = :x": 6, _z: 7, "0": 8 };
      expect(parseItemInput({ name: "n", map: value }).attrs).to.deep.equal({ map: value });
      for (const key of ["", "k".repeat(256), "constructor", "prototype"]) {
        expectHttpError(
          () => parseItemInput({ name: "n", map: { ok: 1, [key]: 1 } }),
          400,
          "validation_failed",
          nestedKeyMessage("map", key),
        );
        expectHttpError(
          () => parseItemInput({ name: "n", list: [[{ [key]: 1 }]] }),
          400,
          "validation_failed",
          nestedKeyMessage("list", key),
        );
      }
      // JSON.parse makes __proto__ an own property, as a request body would hold it.
      const polluted = JSON.parse('{"name":"n","map":{"__proto__":{"admin":true}}}') as unknown;
      expectHttpError(() => parseItemInput(polluted), 400, "validation_failed", nestedKeyMessage("map", "__proto__"));
    });
  });

  describe("parseItemPatch", () => {
    it("returns only what the patch names", () => {
      expect(parseItemPatch({})).to.deep.equal({ attrs: {} });
      expect(parseItemPatch({ name: "New" })).to.deep.equal({ name: "New", attrs: {} });
      expect(parseItemPatch({ description: "d" })).to.deep.equal({ description: "d", attrs: {} });
    });

    it("turns description: null into the default empty description", () => {
      expect(parseItemPatch({ description: null })).to.deep.equal({ description: "", attrs: {} });
    });

    it("refuses to remove name", () => {
      expectHttpError(() => parseItemPatch({ name: null }), 400, "validation_failed", "name cannot be removed");
    });

    it("keeps nulls in attributes: they remove, at any level", () => {
      expect(parseItemPatch({ status: null, dims: { w: null, h: 41 }, tags: ["a"] })).to.deep.equal({
        attrs: { status: null, dims: { w: null, h: 41 }, tags: ["a"] },
      });
    });

    it("validates name and description like a create", () => {
      for (const name of ["", "x".repeat(201), 1, [], {}]) {
        expectHttpError(() => parseItemPatch({ name }), 400, "validation_failed", NAME_MESSAGE);
      }
      for (const description of ["d".repeat(2001), 0, true, {}]) {
        expectHttpError(() => parseItemPatch({ description }), 400, "validation_failed", DESCRIPTION_MESSAGE);
      }
    });

    it("refuses server-managed fields, even as null", () => {
      for (const field of ["id", "version", "createdAt", "updatedAt"]) {
        for (const value of [null, 7, "x"]) {
          expectHttpError(
            () => parseItemPatch({ [field]: value }),
            400,
            "read_only_field",
            `${field} is managed by the server and cannot be set`,
          );
        }
      }
    });

    it("counts only attributes it sets (not removals) against the 50-attribute limit", () => {
      const patch = { name: "n", description: "d", ...attributes(50), ...attributes(10, null, "gone") };
      expect(Object.keys(parseItemPatch(patch).attrs)).to.have.length(60);
      expectHttpError(() => parseItemPatch(attributes(51)), 400, "validation_failed", LIMIT_MESSAGE);
    });

    it("applies the name, depth, number and nested key rules of a create", () => {
      expectHttpError(
        () => parseItemPatch({ "a = :x, b": 1 }),
        400,
        "validation_failed",
        attributeNameMessage("a = :x, b"),
      );
      expectHttpError(() => parseItemPatch({ deep: nestedObject(9) }), 400, "validation_failed", depthMessage("deep"));
      expectHttpError(
        () => parseItemPatch({ n: { x: 2 ** 53 } }),
        400,
        "validation_failed",
        numberMessage("n", 2 ** 53),
      );
      expectHttpError(() => parseItemPatch({ m: { "": null } }), 400, "validation_failed", nestedKeyMessage("m", ""));
      expect(parseItemPatch({ deep: nestedObject(8, null) }).attrs).to.deep.equal({ deep: nestedObject(8, null) });
    });

    it("refuses a body that is not a JSON object", () => {
      for (const body of [null, [], "x", 1]) {
        expectHttpError(() => parseItemPatch(body), 400, "validation_failed", BODY_MESSAGE);
      }
    });
  });

  describe("applyMergePatch", () => {
    // RFC 7396, Appendix A, every example in order.
    const examples: Array<[original: Json, patch: Json, result: Json]> = [
      [{ a: "b" }, { a: "c" }, { a: "c" }],
      [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
      [{ a: "b" }, { a: null }, {}],
      [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
      [{ a: ["b"] }, { a: "c" }, { a: "c" }],
      [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
      [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
      [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
      [
        ["a", "b"],
        ["c", "d"],
        ["c", "d"],
      ],
      [{ a: "b" }, ["c"], ["c"]],
      [{ a: "foo" }, null, null],
      [{ a: "foo" }, "bar", "bar"],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: "b", c: null }, { a: "b" }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];

    examples.forEach(([original, patch, result], index) => {
      it(`RFC 7396 Appendix A example ${index + 1}: ${JSON.stringify(original)} + ${JSON.stringify(patch)}`, () => {
        expect(applyMergePatch(original, patch)).to.deep.equal(result);
      });
    });

    it("handles the example of RFC 7396 section 3", () => {
      const target: Json = {
        title: "Goodbye!",
        author: { givenName: "John", familyName: "Doe" },
        tags: ["example", "sample"],
        content: "This will be unchanged",
      };
      const patch: Json = {
        title: "Hello!",
        phoneNumber: "+01-123-456-7890",
        author: { familyName: null },
        tags: ["example"],
      };
      expect(applyMergePatch(target, patch)).to.deep.equal({
        title: "Hello!",
        author: { givenName: "John" },
        tags: ["example"],
        content: "This will be unchanged",
        phoneNumber: "+01-123-456-7890",
      });
    });

    it("treats a missing target as an empty object", () => {
      expect(applyMergePatch(undefined, { a: { b: null, c: 1 } })).to.deep.equal({ a: { c: 1 } });
    });

    it("changes neither the target nor the patch", () => {
      const target: Json = { a: { b: 1, c: [1] }, d: 2 };
      const patch: Json = { a: { b: null, e: { f: 1 } }, d: null };
      const targetCopy = structuredClone(target);
      const patchCopy = structuredClone(patch);
      expect(applyMergePatch(target, patch)).to.deep.equal({ a: { c: [1], e: { f: 1 } } });
      expect(target).to.deep.equal(targetCopy);
      expect(patch).to.deep.equal(patchCopy);
    });
  });

  describe("mergeItem", () => {
    it("merges a patch into the stored item's client fields", () => {
      const current = storedItem();
      const patch = parseItemPatch({ name: "Grinder", status: null, dims: { w: null, d: 25 }, color: "red" });
      expect(mergeItem(current, patch)).to.deep.equal({
        name: "Grinder",
        description: "Dual boiler",
        attrs: { price: 1200, tags: ["coffee"], dims: { h: 40, d: 25 }, color: "red" },
      });
      expect(current).to.deep.equal(storedItem());
    });

    it("keeps name and description the patch leaves out, and resets description on null", () => {
      expect(mergeItem(storedItem(), parseItemPatch({}))).to.deep.equal({
        name: "Espresso machine",
        description: "Dual boiler",
        attrs: storedItem().attrs,
      });
      expect(mergeItem(storedItem(), parseItemPatch({ description: null })).description).to.equal("");
    });

    it("keeps the 50-attribute limit on the merged result", () => {
      const full = storedItem({ attrs: attributes(50) });
      expectHttpError(() => mergeItem(full, parseItemPatch({ extra: 1 })), 400, "validation_failed", LIMIT_MESSAGE);
      const swapped = mergeItem(full, parseItemPatch({ a1: null, extra: 1 }));
      expect(Object.keys(swapped.attrs)).to.have.length(50);
      expect(swapped.attrs).to.include({ extra: 1 }).and.not.have.property("a1");
      // Removing attributes the item does not have frees nothing.
      expectHttpError(
        () => mergeItem(full, parseItemPatch({ notThere: null, extra: 1 })),
        400,
        "validation_failed",
        LIMIT_MESSAGE,
      );
    });
  });

  describe("nesting depth", () => {
    // Depth counts containers: a scalar is 0 deep, [] and {} 1. Each value below, wrapped in as
    // many arrays as take it to exactly 8, is accepted; one array more is refused.
    const cases: Array<[Json, number]> = [
      [1, 0],
      ["s", 0],
      [null, 0],
      [true, 0],
      [[], 1],
      [{}, 1],
      [[1, "a", null], 1],
      [[[1]], 2],
      [{ a: { b: [] } }, 3],
      [[1, [2, [3]], {}], 3],
      [{ a: 1, b: { c: { d: {} } }, e: [] }, 4],
    ];
    for (const [value, depth] of cases) {
      it(`counts ${JSON.stringify(value)} as ${depth} deep`, () => {
        const at8 = nestedArray(8 - depth, value);
        expect(parseItemInput({ name: "n", deep: at8 }).attrs.deep).to.deep.equal(at8);
        expectHttpError(
          () => parseItemInput({ name: "n", deep: [at8] }),
          400,
          "validation_failed",
          depthMessage("deep"),
        );
      });
    }
  });

  describe("toResponseItem and etagOf", () => {
    it("puts client attributes beside the fixed fields, in a stable order", () => {
      const response = toResponseItem(storedItem());
      expect(response).to.deep.equal({
        id: "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11",
        name: "Espresso machine",
        description: "Dual boiler",
        status: "in-stock",
        price: 1200,
        tags: ["coffee"],
        dims: { w: 30, h: 40 },
        version: 3,
        createdAt: "2026-01-01T12:00:00.000Z",
        updatedAt: "2026-01-02T12:00:00.000Z",
      });
      expect(Object.keys(response)).to.deep.equal([
        "id",
        "name",
        "description",
        "status",
        "price",
        "tags",
        "dims",
        "version",
        "createdAt",
        "updatedAt",
      ]);
    });

    it("makes the ETag the quoted version", () => {
      expect(etagOf(storedItem({ version: 1 }))).to.equal('"1"');
      expect(etagOf(storedItem({ version: 42 }))).to.equal('"42"');
    });
  });

  describe("isStoredItem", () => {
    it("accepts a complete record and refuses anything else", () => {
      expect(isStoredItem(storedItem())).to.equal(true);
      expect(isStoredItem({ ...storedItem(), attrs: {} })).to.equal(true);
      const { attrs: _attrs, ...withoutAttrs } = storedItem();
      for (const value of [
        null,
        [],
        "item",
        withoutAttrs,
        { ...storedItem(), version: "3" },
        { ...storedItem(), attrs: [] },
        { ...storedItem(), name: 1 },
        { id: "x", expiresAt: 1 },
      ]) {
        expect(isStoredItem(value), JSON.stringify(value)).to.equal(false);
      }
    });
  });

  describe("every parser", () => {
    for (const { label, parse } of parsers) {
      it(`${label} accepts reserved words and keeps nested key order`, () => {
        const body = { name: "n", status: { z: 1, a: 2 }, data: 1 };
        const parsed = parse(body) as { attrs: JsonObject };
        expect(Object.keys(parsed.attrs)).to.deep.equal(["status", "data"]);
        expect(Object.keys(parsed.attrs.status as JsonObject)).to.deep.equal(["z", "a"]);
      });
    }
  });
});
