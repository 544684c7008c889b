/**
 * Recipes (arbitraries.ts) made into requests against the model's current state: bodies written
 * as JSON text key by key (so that `__proto__` and `toString` are sent as data, and number
 * literals as written), entity tags from the target's current version, keys used before.
 */
import { randomUUID } from "crypto";
import {
  BodyFault,
  BodyRecipe,
  BodyValue,
  CallerRecipe,
  ConditionalRecipe,
  ContentTypeForm,
  CursorForm,
  ItemPick,
  KeyRecipe,
  LimitForm,
  MalformedForm,
  PatchRecipe,
  TagForm,
  TextForm,
  fillerName,
  isRawJson,
  nested,
} from "./arbitraries";
import { Json, MODEL_LIMITS, ModelItem, ModelRequest, ReferenceModel } from "./reference";

export const ALLOWED_ORIGIN = "https://app.example.com";

/** A value as JSON text: object keys in the given order, raw literals as written. */
export function jsonText(value: BodyValue): string {
  if (isRawJson(value)) {
    return value.raw;
  }
  if (Array.isArray(value)) {
    return `[${value.map(jsonText).join(",")}]`;
  }
  if (typeof value === "object" && value !== null) {
    return objectText(Object.entries(value));
  }
  return JSON.stringify(value);
}

function objectText(entries: [string, BodyValue][]): string {
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${jsonText(member)}`).join(",")}}`;
}

/** The entries in another order, chosen by `shuffle`. */
function reorder<T>(entries: T[], shuffle: number): T[] {
  if (entries.length < 2) {
    return entries;
  }
  const rotated = [...entries.slice(shuffle % entries.length), ...entries.slice(0, shuffle % entries.length)];
  return Math.floor(shuffle / entries.length) % 2 === 1 ? rotated.reverse() : rotated;
}

function text(form: TextForm, maximum: number, ordinary: string): string {
  switch (form) {
    case "ordinary":
      return ordinary;
    case "max":
      return "n".repeat(maximum);
    case "max-astral":
      return "😀".repeat(maximum);
    case "over":
      return "n".repeat(maximum + 1);
    case "over-astral":
      return "😀".repeat(maximum + 1);
  }
}

/** Pads the body to exactly `bytes` with a string attribute (or the last attribute's value, at the limit). */
function padded(entries: [string, BodyValue][], bytes: number, maxAttributes: number): [string, BodyValue][] {
  const attributeCount = entries.filter(([key]) => key !== "name" && key !== "description").length;
  const index = entries.findIndex(([key]) => key === "blob");
  const slot = index !== -1 ? index : attributeCount < maxAttributes ? entries.length : entries.length - 1;
  const withPad = (pad: string): [string, BodyValue][] => {
    const copy = [...entries];
    copy[slot] = [slot < entries.length ? (entries[slot]?.[0] ?? "blob") : "blob", pad];
    return copy;
  };
  const missing = bytes - Buffer.byteLength(objectText(withPad("")));
  const pad = "é".repeat(Math.max(0, Math.floor(missing / 2))) + (missing > 0 && missing % 2 === 1 ? "x" : "");
  return withPad(pad);
}

const FAULT_VALUES: Record<Extract<BodyFault, { kind: "value" }>["value"], BodyValue> = {
  "depth-9": nested(MODEL_LIMITS.maxDepth + 1),
  "unsafe-integer": MODEL_LIMITS.maxSafeInteger + 1,
  "too-small": 1e-131,
  vanishing: { raw: "1e-400" },
  "too-large": { raw: "1e400" },
};

/** The body text with one fault applied (or none). */
function bodyText(entries: [string, BodyValue][], fault: BodyFault | undefined): Buffer {
  const set = (key: string, value: BodyValue | undefined): [string, BodyValue][] => {
    const others = entries.filter(([name]) => name !== key);
    return value === undefined ? others : [...others, [key, value]];
  };
  switch (fault?.kind) {
    case undefined:
      return Buffer.from(objectText(entries));
    case "name": {
      const names = {
        missing: undefined,
        empty: "",
        over: text("over", 200, ""),
        "over-astral": text("over-astral", 200, ""),
        number: 7,
        null: null,
      };
      return Buffer.from(objectText(set("name", names[fault.form])));
    }
    case "description": {
      const descriptions = { over: "d".repeat(MODEL_LIMITS.descriptionMaxCharacters + 1), number: 7, null: null };
      return Buffer.from(objectText(set("description", descriptions[fault.form])));
    }
    case "read-only":
      return Buffer.from(objectText(set(fault.field, fault.field === "version" ? 1 : "2026-01-01T00:00:00.000Z")));
    case "refused-name":
      return Buffer.from(objectText([...entries, [fault.name, 1]]));
    case "nested-key": {
      const key = fault.key === "long" ? "k".repeat(MODEL_LIMITS.maxNestedKeyLength + 1) : fault.key;
      return Buffer.from(objectText([...entries, ["nestedFault", { raw: objectText([[key, 1]]) }]]));
    }
    case "value":
      return Buffer.from(objectText([...entries, ["valueFault", FAULT_VALUES[fault.value]]]));
    case "attributes": {
      const fixed = entries.filter(([key]) => key === "name" || key === "description");
      const attrs = Array.from({ length: fault.count }, (_, index): [string, BodyValue] => [fillerName(index), index]);
      return Buffer.from(objectText([...fixed.filter(([key]) => key === "name"), ...attrs]));
    }
    case "size":
      return Buffer.from(objectText(padded(entries, MODEL_LIMITS.maxBodyBytes + 1, MODEL_LIMITS.maxAttributes)));
    case "encoding":
      switch (fault.form) {
        case "not-json":
          return Buffer.from(`${objectText(entries).slice(0, -1)},}`);
        case "array":
          return Buffer.from(`[${objectText(entries)}]`);
        case "empty":
          return Buffer.alloc(0);
        case "bad-utf8":
          return Buffer.concat([Buffer.from('{"name":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
        case "bom":
          return Buffer.from(`\ufeff${objectText(entries)}`);
        case "string":
          return Buffer.from(JSON.stringify("just a string"));
      }
  }
}

/** Counter for names, so that items differ. */
let sequence = 0;

/** The entries of a create or replace body: name, description, attributes, fillers. */
function newItemEntries(recipe: BodyRecipe, label: string): [string, BodyValue][] {
  sequence += 1;
  const entries: [string, BodyValue][] = [
    ["name", text(recipe.name, MODEL_LIMITS.nameMaxCharacters, `${label} ${sequence}`)],
  ];
  const descriptions = {
    ordinary: "described",
    empty: "",
    max: "d".repeat(MODEL_LIMITS.descriptionMaxCharacters),
    "max-astral": "é".repeat(MODEL_LIMITS.descriptionMaxCharacters),
    over: "d".repeat(MODEL_LIMITS.descriptionMaxCharacters + 1),
  };
  if (recipe.description !== "absent") {
    entries.push(["description", descriptions[recipe.description]]);
  }
  const attrs = recipe.fill > 0 ? recipe.attrs.slice(0, recipe.fill) : recipe.attrs;
  const names = new Set(attrs.map(([name]) => name));
  for (let index = 0; attrs.length < recipe.fill; index++) {
    if (!names.has(fillerName(index))) {
      attrs.push([fillerName(index), index]);
    }
  }
  const all = reorder([...entries, ...attrs], recipe.shuffle);
  return recipe.exactSize ? padded(all, MODEL_LIMITS.maxBodyBytes, MODEL_LIMITS.maxAttributes) : all;
}

export function newItemBody(recipe: BodyRecipe, label: string): Buffer {
  return bodyText(newItemEntries(recipe, label), recipe.fault);
}

/** A merge patch for `item` (undefined: it does not exist, so only the recipe's own keys). */
export function patchBody(recipe: PatchRecipe, item: ModelItem | undefined): Buffer {
  const entries: [string, BodyValue][] = [...recipe.set];
  const names = new Set(entries.map(([name]) => name));
  const existing = [...(item?.attrs.entries() ?? [])];
  for (const [name] of existing.slice(0, recipe.removeExisting)) {
    if (!names.has(name)) {
      entries.push([name, null]);
      names.add(name);
    }
  }
  const object = existing.find(
    ([name, value]) => !names.has(name) && typeof value === "object" && value !== null && !Array.isArray(value),
  );
  if (recipe.mergeIntoExisting && object !== undefined) {
    const [name, value] = object;
    const keys = Object.keys(value as object);
    entries.push([
      name,
      {
        raw: objectText([
          ["merged", 1],
          ...(keys[0] === undefined ? [] : ([[keys[0], null]] as [string, BodyValue][])),
        ]),
      },
    ]);
  }
  if (recipe.name !== "absent") {
    entries.push(["name", text(recipe.name, MODEL_LIMITS.nameMaxCharacters, `patched ${(sequence += 1)}`)]);
  }
  const descriptions = { ordinary: "patched", null: null, max: "p".repeat(MODEL_LIMITS.descriptionMaxCharacters) };
  if (recipe.description !== "absent") {
    entries.push(["description", descriptions[recipe.description]]);
  }
  const ordered = reorder(entries, recipe.shuffle);
  return bodyText(
    recipe.exactSize ? padded(ordered, MODEL_LIMITS.maxBodyBytes, Number.MAX_SAFE_INTEGER) : ordered,
    recipe.fault,
  );
}

/** A create body from known client fields (an earlier create's), in another key order if asked. */
export function bodyOfFields(
  fields: { name: string; description: string; attrs: Map<string, Json> },
  reordered: boolean,
  changed: boolean,
): Buffer {
  const entries: [string, BodyValue][] = [
    ["name", changed ? `${fields.name} (another body)` : fields.name],
    ...(fields.description === "" && reordered ? [] : ([["description", fields.description]] as [string, BodyValue][])),
    ...fields.attrs.entries(),
  ];
  return Buffer.from(objectText(reordered ? entries.reverse() : entries));
}

export function contentType(form: ContentTypeForm, operation: "new-item" | "patch"): string | undefined {
  const proper = operation === "patch" ? "application/merge-patch+json" : "application/json";
  const forms: Record<ContentTypeForm, string | undefined> = {
    proper,
    json: "application/json",
    charset: `${proper}; charset=UTF-8`,
    "upper-case": proper.toUpperCase(),
    latin1: `${proper}; charset=latin1`,
    text: "text/plain",
    none: undefined,
  };
  return forms[form];
}

function tag(form: TagForm, version: number): string {
  const forms: Record<TagForm, string> = {
    current: `"${version}"`,
    stale: `"${version - 1}"`,
    ahead: `"${version + 1}"`,
    "weak-current": `W/"${version}"`,
    "weak-stale": `W/"${version - 1}"`,
    star: "*",
    "list-with-current": `"${version + 1}", "${version}"`,
    "list-without-current": `"${version + 1}", "${version + 2}"`,
    opaque: '"abc"',
    "leading-zero": `"0${version}"`,
    "comma-inside": `"${version},${version}"`,
    "empty-elements": ` , "${version}",,`,
    many: Array.from({ length: MODEL_LIMITS.maxConditionTags + 1 }, (_, index) => `"${index + 1}"`).join(", "),
  };
  return forms[form];
}

function malformed(form: MalformedForm, version: number): string {
  const forms: Record<MalformedForm, string> = {
    unquoted: String(version),
    unterminated: `"${version}`,
    "weak-unquoted": `W/${version}`,
    "lower-case-weak": `w/"${version}"`,
    "star-and-tag": `*, "${version}"`,
    empty: "",
    "commas-only": " , ,",
    "space-inside": `"${version} ${version}"`,
    "too-many": tag("many", version),
  };
  return forms[form];
}

const CASINGS = [(name: string) => name, (name: string) => name.toLowerCase(), (name: string) => name.toUpperCase()];

/** Conditional header lines for a target whose current version is `version` (1 where it has none). */
export function conditionalLines(recipe: ConditionalRecipe, version: number): [string, string][] {
  const casing = CASINGS[recipe.casing] ?? CASINGS[0];
  const name = (header: string) => (casing === undefined ? header : casing(header));
  const lines: [string, string][] = [
    ...recipe.ifMatch.map((form): [string, string] => [name("If-Match"), tag(form, version)]),
    ...recipe.ifNoneMatch.map((form): [string, string] => [name("If-None-Match"), tag(form, version)]),
  ];
  if (recipe.malformed !== undefined) {
    lines.push([name(recipe.malformed.header), malformed(recipe.malformed.form, version)]);
  }
  return lines;
}

export function callerLines(recipe: CallerRecipe, model: ReferenceModel): [string, string][] {
  const lines: [string, string][] = [];
  if (model.profile.signIn && recipe.token !== "missing") {
    // The ID token as it is, no `Bearer` (API Gateway's Cognito authorizer reads it so).
    lines.push([
      "Authorization",
      recipe.token === "garbage" ? "not-a-token" : (model.tokenOf(recipe.user, recipe.token) ?? ""),
    ]);
  }
  if (recipe.apiKey === "right" && model.apiKey !== undefined) {
    lines.push(["x-api-key", model.apiKey]);
  } else if (recipe.apiKey === "wrong") {
    lines.push(["x-api-key", `${model.apiKey ?? "key"}-wrong`]);
  }
  if (recipe.origin !== "none") {
    lines.push(["Origin", recipe.origin === "allowed" ? ALLOWED_ORIGIN : "https://elsewhere.example"]);
  }
  return lines;
}

/** What a request of `user` that only wants to reach the functions sends: its ID token, the API key. */
export function userLines(model: ReferenceModel, user: string = model.firstOwner): [string, string][] {
  return callerLines({ user: user === "bob" ? "bob" : "alice", token: "id", apiKey: "right", origin: "none" }, model);
}

/** The item a pick names now, and the path segment to send. */
export function pickItem(pick: ItemPick, model: ReferenceModel): { segment: string; item: ModelItem | undefined } {
  if (pick.kind === "missing") {
    return { segment: pick.id, item: undefined };
  }
  if (pick.kind === "malformed") {
    return { segment: pick.segment, item: undefined };
  }
  const items = [...model.items.values()];
  if (items.length === 0) {
    return { segment: randomUUID(), item: undefined };
  }
  const item =
    pick.prefer === "fullest"
      ? items.reduce((fullest, candidate) => (candidate.attrs.size > fullest.attrs.size ? candidate : fullest))
      : items[pick.index % items.length];
  return { segment: item?.id ?? randomUUID(), item };
}

/** Idempotency-Key lines of a keyed create, and its body when the recipe reuses an earlier one's. */
export function keyLines(
  recipe: KeyRecipe,
  model: ReferenceModel,
  casing: number,
): { lines: [string, string][]; body?: Buffer } {
  const name = casing % 3 === 0 ? "Idempotency-Key" : casing % 3 === 1 ? "idempotency-key" : "IDEMPOTENCY-KEY";
  const used = [...model.keys.entries()];
  switch (recipe.kind) {
    case "new":
      return {
        lines: [[name, `${recipe.key}-${randomUUID().slice(0, 8)}`.slice(-MODEL_LIMITS.idempotencyKeyMaxLength)]],
      };
    case "reuse": {
      // Prefer the keys a crash left uncertain: they decide whether a key can hold two items.
      const uncertain = used.filter(([, record]) => record.state === "uncertain");
      const pool = uncertain.length > 0 && recipe.index % 3 !== 0 ? uncertain : used;
      const entry = pool[recipe.index % Math.max(1, pool.length)];
      if (entry === undefined) {
        return { lines: [[name, `fresh-${randomUUID()}`]] };
      }
      const [keyId, record] = entry;
      const key = keyId.slice(keyId.indexOf("\n") + 1);
      const fields = record.state === "uncertain" ? record.pending.fields : fieldsOfAnswer(record.response);
      return {
        lines: [[name, key]],
        body: bodyOfFields(fields, recipe.body === "same-reordered", recipe.body === "other"),
      };
    }
    case "invalid": {
      const forms = {
        empty: "",
        "too-long": "k".repeat(MODEL_LIMITS.idempotencyKeyMaxLength + 1),
        comma: "order-1, order-2",
        tab: "a\tb",
        latin1: "clé",
      };
      return { lines: [[name, forms[recipe.form]]] };
    }
    case "repeated": {
      const fresh = `repeated-${randomUUID()}`;
      const known = used[0]?.[0].split("\n")[1] ?? `other-${randomUUID()}`;
      const second = recipe.lines === "same" ? fresh : recipe.lines === "different" ? `${fresh}-b` : known;
      return {
        lines: [
          [name, fresh],
          [name, second],
        ],
      };
    }
  }
}

function fieldsOfAnswer(response: string): { name: string; description: string; attrs: Map<string, Json> } {
  const json = JSON.parse(response) as Record<string, Json>;
  const attrs = new Map<string, Json>();
  for (const [key, value] of Object.entries(json)) {
    if (!["id", "name", "description", "version", "createdAt", "updatedAt"].includes(key)) {
      attrs.set(key, value);
    }
  }
  return { name: String(json.name), description: String(json.description), attrs };
}

export function listQuery(limit: LimitForm, cursor: CursorForm, model: ReferenceModel): [string, string][] {
  const query: [string, string][] = [];
  if (limit.kind === "value") {
    query.push(["limit", String(limit.limit)]);
  } else if (limit.kind === "invalid") {
    query.push(["limit", limit.text]);
  }
  const issued = [...model.issuedCursors.keys()];
  const chosen =
    issued[(cursor.kind === "issued" || cursor.kind === "tampered" ? cursor.index : 0) % Math.max(1, issued.length)];
  if (cursor.kind === "issued" && chosen !== undefined) {
    query.push(["cursor", chosen]);
  } else if (cursor.kind === "tampered" && chosen !== undefined) {
    // The first character carries six bits of the payload: changing it changes what is signed.
    query.push(["cursor", `${chosen.startsWith("A") ? "B" : "A"}${chosen.slice(1)}`]);
  } else if (cursor.kind === "garbage") {
    query.push(["cursor", cursor.text]);
  }
  return query;
}

/** The request target (path and query) as sent, relative to the base URL. */
export function targetOf(request: ModelRequest): string {
  const query = request.query
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join("&");
  return `${request.path.slice(1)}${query === "" ? "" : `?${query}`}`;
}

/** A request from its parts; `contentType` undefined sends none. */
export function request(
  method: string,
  path: string,
  lines: [string, string][],
  body?: { bytes: Buffer; contentType: string | undefined },
  query: [string, string][] = [],
): ModelRequest {
  const headers: [string, string][] = [...lines];
  if (body?.contentType !== undefined) {
    headers.push(["Content-Type", body.contentType]);
  }
  return { method, path, query, headers, body: body?.bytes };
}
