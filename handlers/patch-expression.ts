/**
 * The patch compiler: the attributes of a JSON Merge Patch (RFC 7396) as the update actions and
 * conditions of one DynamoDB UpdateItem, and the 50-attribute limit as conditions. item-store.ts
 * adds the client fields, version, write token and existence, and sends it.
 */
import { ExpressionBuilder } from "./dynamodb";
import { badRequest } from "./errors";
import {
  Json,
  JsonObject,
  LIMITS,
  StoredItem,
  applyMergePatch,
  isJsonObject,
  ownValue,
  TOO_MANY_ATTRIBUTES,
} from "./model";

/** Update actions and conditions of a write (a PATCH's compiled paths, a PUT's `attrs`), before they are joined. */
export interface PatchActions {
  sets: string[];
  removes: string[];
  conditions: string[];
}

/**
 * Compiles the attribute part of a merge patch into update actions on `attrs`. An object merges
 * key by key into a map (condition: it is a map); into anything else, a missing attribute
 * included, it is RFC 7396's result, the patch without its nulls, SET in one action (condition:
 * it is not a map). `known` is the item's current value at `prefix` when a failed round showed
 * it; without it every object is taken to merge into a map.
 */
export function compileAttributePatch(
  builder: ExpressionBuilder,
  prefix: string[],
  patch: JsonObject,
  known: Json | undefined,
  shapeKnown: boolean,
  actions: PatchActions,
): void {
  for (const [key, value] of Object.entries(patch)) {
    const path = [...prefix, key];
    const current = isJsonObject(known) ? ownValue(known, key) : undefined;
    if (value === null) {
      actions.removes.push(builder.path(path));
    } else if (isJsonObject(value) && (!shapeKnown || isJsonObject(current))) {
      actions.conditions.push(`attribute_type(${builder.path(path)}, ${builder.value("M")})`);
      compileAttributePatch(builder, path, value, current, shapeKnown, actions);
    } else if (isJsonObject(value)) {
      actions.conditions.push(`NOT attribute_type(${builder.path(path)}, ${builder.value("M")})`);
      actions.sets.push(`${builder.path(path)} = ${builder.value(applyMergePatch(undefined, value))}`);
    } else {
      actions.sets.push(`${builder.path(path)} = ${builder.value(value)}`);
    }
  }
}

/**
 * The 50-attribute limit as a condition. Without knowledge of the item: room for every non-null
 * key to be new. When a failed round showed the item and that bound does not hold, the exact
 * count: keys seen present are required present, and the size must leave room for the rest.
 */
export function attributeLimitConditions(
  builder: ExpressionBuilder,
  patch: JsonObject,
  known: StoredItem | undefined,
): string[] {
  const keys = Object.keys(patch);
  const nonNull = keys.filter((key) => ownValue(patch, key) !== null);
  if (nonNull.length === 0) {
    return [];
  }
  const attrs = builder.name("attrs");
  const worstCase = LIMITS.maxAttributes - nonNull.length;
  if (known === undefined || Object.keys(known.attrs).length <= worstCase) {
    return [`size(${attrs}) <= ${builder.value(worstCase)}`];
  }
  // Own keys only: `toString in attrs` is true of every object.
  const present = keys.filter((key) => Object.hasOwn(known.attrs, key));
  const added = nonNull.filter((key) => !Object.hasOwn(known.attrs, key)).length;
  const removed = present.filter((key) => ownValue(patch, key) === null).length;
  if (Object.keys(known.attrs).length + added - removed > LIMITS.maxAttributes) {
    throw badRequest(TOO_MANY_ATTRIBUTES);
  }
  return [
    ...present.map((key) => `attribute_exists(${builder.path(["attrs", key])})`),
    `size(${attrs}) <= ${builder.value(LIMITS.maxAttributes - added + removed)}`,
  ];
}
