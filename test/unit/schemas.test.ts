/**
 * infra/schemas.ts against the handlers: the draft-4 models API Gateway (and the local runtime)
 * check before a handler runs are a coarse first gate. Whatever a model rejects, the handler's
 * parser must reject too; otherwise the gateway refuses requests the API would serve.
 */
import { expect } from "chai";
import Ajv from "ajv-draft-04";
import { Json, JsonObject, parseItemInput, parseItemPatch } from "../../handlers/model";
import { withoutAnnotations } from "../../infra/apigateway-openapi";
import { itemPatchSchema, newItemSchema } from "../../infra/schemas";

/**
 * valid: both accept. handler: the model accepts, the handler refuses (rules the model leaves
 * to the handler). both: both refuse. The fourth combination must never happen.
 */
type Verdict = "valid" | "handler" | "both";

interface Case {
  label: string;
  body: unknown;
  verdict: Verdict;
}

function attributes(count: number, value: Json = 1, prefix = "a"): JsonObject {
  return Object.fromEntries(Array.from({ length: count }, (_, index) => [`${prefix}${index + 1}`, value]));
}

function nested(depth: number): Json {
  let value: Json = "leaf";
  for (let level = 0; level < depth; level++) {
    value = level % 2 === 0 ? [value] : { k: value };
  }
  return value;
}

/** A body as a request delivers it: JSON text parsed, so "__proto__" is an own property. */
const fromJson = (text: string): unknown => JSON.parse(text);

const createCases: Case[] = [
  { label: "name only", body: { name: "Espresso" }, verdict: "valid" },
  { label: "empty description", body: { name: "n", description: "" }, verdict: "valid" },
  { label: "description of 2000", body: { name: "n", description: "d".repeat(2000) }, verdict: "valid" },
  { label: "name of 200", body: { name: "x".repeat(200) }, verdict: "valid" },
  { label: "name of 200 astral characters", body: { name: "😀".repeat(200) }, verdict: "valid" },
  {
    label: "reserved words as attributes",
    body: { name: "n", status: "s", data: { a: [1] }, type: true, value: null, ttl: 0 },
    verdict: "valid",
  },
  {
    label: "50 attributes with description",
    body: { name: "n", description: "d", ...attributes(50) },
    verdict: "valid",
  },
  { label: "50 attributes without description", body: { name: "n", ...attributes(50) }, verdict: "valid" },
  { label: "depth 8", body: { name: "n", deep: nested(8) }, verdict: "valid" },
  { label: "attribute name of 64", body: { name: "n", ["a".repeat(64)]: 1 }, verdict: "valid" },
  {
    label: "edge numbers",
    body: { name: "n", n: [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e-130, -1.5, 0] },
    verdict: "valid",
  },
  { label: "free-form nested keys", body: { name: "n", map: { "a b": 1, "#x": 2, ":y": 3, é: 4 } }, verdict: "valid" },
  { label: "id", body: { name: "n", id: "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11" }, verdict: "handler" },
  { label: "version", body: { name: "n", version: 1 }, verdict: "handler" },
  { label: "createdAt and updatedAt", body: { name: "n", createdAt: "x", updatedAt: "y" }, verdict: "handler" },
  { label: "51 attributes without description", body: { name: "n", ...attributes(51) }, verdict: "handler" },
  { label: "depth 9", body: { name: "n", deep: nested(9) }, verdict: "handler" },
  { label: "integer 2^53", body: { name: "n", big: 2 ** 53 }, verdict: "handler" },
  { label: "magnitude 1e-200", body: { name: "n", tiny: 1e-200 }, verdict: "handler" },
  { label: "empty nested key", body: { name: "n", map: { "": 1 } }, verdict: "handler" },
  { label: "nested key of 256", body: { name: "n", map: { ["k".repeat(256)]: 1 } }, verdict: "handler" },
  { label: "nested constructor key", body: { name: "n", map: { constructor: 1 } }, verdict: "handler" },
  { label: "nested __proto__ key", body: fromJson('{"name":"n","map":{"__proto__":{"x":1}}}'), verdict: "handler" },
  { label: "empty object", body: {}, verdict: "both" },
  { label: "description without name", body: { description: "d" }, verdict: "both" },
  { label: "empty name", body: { name: "" }, verdict: "both" },
  { label: "name of 201", body: { name: "x".repeat(201) }, verdict: "both" },
  { label: "name of 201 astral characters", body: { name: "😀".repeat(201) }, verdict: "both" },
  { label: "numeric name", body: { name: 5 }, verdict: "both" },
  { label: "null name", body: { name: null }, verdict: "both" },
  { label: "null description", body: { name: "n", description: null }, verdict: "both" },
  { label: "description of 2001", body: { name: "n", description: "d".repeat(2001) }, verdict: "both" },
  { label: "expression as attribute name", body: { name: "n", "a = :x, b": 1 }, verdict: "handler" },
  { label: "leading underscore", body: { name: "n", _a: 1 }, verdict: "handler" },
  { label: "leading digit", body: { name: "n", "1a": 1 }, verdict: "handler" },
  { label: "non-ASCII attribute name", body: { name: "n", é: 1 }, verdict: "handler" },
  { label: "empty attribute name", body: { name: "n", "": 1 }, verdict: "handler" },
  { label: "attribute name of 65", body: { name: "n", ["a".repeat(65)]: 1 }, verdict: "handler" },
  { label: "top-level __proto__", body: fromJson('{"name":"n","__proto__":{"x":1}}'), verdict: "handler" },
  {
    label: "51 attributes with description",
    body: { name: "n", description: "d", ...attributes(51) },
    verdict: "both",
  },
  { label: "array", body: [{ name: "n" }], verdict: "both" },
  { label: "string", body: "name", verdict: "both" },
  { label: "null", body: null, verdict: "both" },
  { label: "number", body: 42, verdict: "both" },
];

const patchCases: Case[] = [
  { label: "empty patch", body: {}, verdict: "valid" },
  { label: "rename", body: { name: "n" }, verdict: "valid" },
  { label: "reset description", body: { description: null }, verdict: "valid" },
  { label: "empty description", body: { description: "" }, verdict: "valid" },
  { label: "remove an attribute", body: { status: null }, verdict: "valid" },
  { label: "nested merge with removal", body: { dims: { w: null, h: 1 } }, verdict: "valid" },
  { label: "52 properties", body: { name: "n", description: "d", ...attributes(50) }, verdict: "valid" },
  { label: "depth 8", body: { deep: nested(8) }, verdict: "valid" },
  { label: "reserved words", body: { data: [1], type: "t", name: "x" }, verdict: "valid" },
  {
    label: "10 removals and 40 sets",
    body: { ...attributes(10, null, "old"), ...attributes(40) },
    verdict: "valid",
  },
  { label: "name of 200 astral characters", body: { name: "😀".repeat(200) }, verdict: "valid" },
  { label: "id removed", body: { id: null }, verdict: "handler" },
  { label: "version set", body: { version: 2 }, verdict: "handler" },
  { label: "updatedAt set", body: { updatedAt: "x" }, verdict: "handler" },
  { label: "51 sets", body: attributes(51), verdict: "handler" },
  { label: "depth 9", body: { deep: nested(9) }, verdict: "handler" },
  { label: "integer 2^53", body: { big: -(2 ** 53) }, verdict: "handler" },
  { label: "empty nested key", body: { map: { "": null } }, verdict: "handler" },
  { label: "remove name", body: { name: null }, verdict: "both" },
  { label: "empty name", body: { name: "" }, verdict: "both" },
  { label: "name of 201", body: { name: "x".repeat(201) }, verdict: "both" },
  { label: "description of 2001", body: { description: "d".repeat(2001) }, verdict: "both" },
  { label: "numeric description", body: { description: 5 }, verdict: "both" },
  { label: "expression as attribute name", body: { "a = :x, b": 1 }, verdict: "handler" },
  { label: "hyphenated removal", body: { "a-b": null }, verdict: "handler" },
  { label: "non-ASCII removal", body: { é: null }, verdict: "handler" },
  { label: "top-level __proto__", body: fromJson('{"__proto__":{"x":1}}'), verdict: "handler" },
  { label: "53 sets", body: { name: "n", description: "d", ...attributes(51) }, verdict: "handler" },
  { label: "array", body: [], verdict: "both" },
  { label: "null", body: null, verdict: "both" },
  { label: "string", body: "x", verdict: "both" },
];

// The options of the local runtime's gateway (local/gateway.ts).
const ajv = new Ajv({ allErrors: false, strict: false });

const suites = [
  {
    model: "NewItem (newItemSchema)",
    parser: "parseItemInput",
    validate: ajv.compile(newItemSchema),
    parse: (body: unknown): unknown => parseItemInput(body),
    cases: createCases,
  },
  {
    model: "ItemPatch (itemPatchSchema)",
    parser: "parseItemPatch",
    validate: ajv.compile(itemPatchSchema),
    parse: (body: unknown): unknown => parseItemPatch(body),
    cases: patchCases,
  },
];

function handlerAccepts(parse: (body: unknown) => unknown, body: unknown): boolean {
  try {
    parse(body);
    return true;
  } catch {
    return false;
  }
}

describe("infra/schemas against the handlers", () => {
  it("compile as draft-4 models (their annotations left out, as the body does), in ajv's strict mode too", () => {
    const strict = new Ajv({ strict: true });
    expect(() => strict.compile(withoutAnnotations(newItemSchema) as object)).not.to.throw();
    expect(() => strict.compile(withoutAnnotations(itemPatchSchema) as object)).not.to.throw();
  });

  for (const suite of suites) {
    describe(`${suite.model} and ${suite.parser}`, () => {
      it("has a corpus of at least 30 bodies with every verdict", () => {
        expect(suite.cases.length).to.be.at.least(30);
        expect(new Set(suite.cases.map((entry) => entry.verdict))).to.deep.equal(new Set(["valid", "handler", "both"]));
        expect(new Set(suite.cases.map((entry) => entry.label)).size).to.equal(suite.cases.length);
      });

      it("model: accepts every body the corpus says it accepts, and only those", () => {
        const verdicts = suite.cases.map((entry) => [entry.label, suite.validate(entry.body)]);
        expect(verdicts).to.deep.equal(suite.cases.map((entry) => [entry.label, entry.verdict !== "both"]));
      });

      it("handler: accepts the valid bodies and refuses the others", () => {
        const verdicts = suite.cases.map((entry) => [entry.label, handlerAccepts(suite.parse, entry.body)]);
        expect(verdicts).to.deep.equal(suite.cases.map((entry) => [entry.label, entry.verdict === "valid"]));
      });

      it("never has the model reject a body the handler accepts", () => {
        const modelOnly = suite.cases
          .filter((entry) => !suite.validate(entry.body) && handlerAccepts(suite.parse, entry.body))
          .map((entry) => entry.label);
        expect(modelOnly).to.deep.equal([]);
      });
    });
  }

  // parseItemPatch counts only the attributes a patch sets: removals (null) are free, and the
  // 50-attribute limit is checked again after merging. The model must not cap the property count,
  // or API Gateway would refuse patches the API applies (a swap of 30 attributes for 30 others).
  it("ItemPatch: never rejects patches whose removals take them past 52 properties", () => {
    const validate = ajv.compile(itemPatchSchema);
    const bodies: Array<[string, JsonObject]> = [
      ["30 removals and 30 sets", { ...attributes(30, null, "old"), ...attributes(30) }],
      ["53 removals", attributes(53, null)],
      ["name, description, 50 sets and 1 removal", { name: "n", description: "d", ...attributes(50), gone: null }],
    ];
    for (const [label, body] of bodies) {
      expect(handlerAccepts(parseItemPatch, body), label).to.equal(true);
      expect(validate(body), label).to.equal(true);
    }
  });
});
