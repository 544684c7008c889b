/**
 * The quick start's items as the API answers them. The README's commands and the generated
 * client (test/client/quick-start-client.ts) make the same ones: an Espresso machine that is
 * read, replaced, patched and deleted, a Grinder created with an Idempotency-Key, a Milk jug.
 * What the server chooses (ids, timestamps) is checked for form and passed in; the rest is fixed.
 */
import { expect } from "chai";

/**
 * The forms of what the server chooses, an item id (UUIDv7: its first 48 bits the creation time) and a timestamp (UTC, milliseconds):
 * the contract checks them too.
 */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export interface Created {
  id: string;
  createdAt: string;
}

/** The id and createdAt of an item as answered, after checking their form. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads an answer's JSON
export function createdFields(item: any): Created {
  expect(item?.id).to.match(UUID);
  expect(item?.createdAt).to.match(TIMESTAMP);
  return { id: item.id, createdAt: item.createdAt };
}

/** The three items as created (version 1, updatedAt = createdAt). */
export function createdItems(espresso: Created, grinder: Created, jug: Created) {
  const fields = (created: Created) => ({ ...created, updatedAt: created.createdAt });
  return {
    espresso: {
      ...fields(espresso),
      name: "Espresso machine",
      description: "",
      status: "in-stock",
      data: { boilers: 2 },
      version: 1,
    },
    grinder: { ...fields(grinder), name: "Grinder", description: "", status: "ordered", version: 1 },
    jug: { ...fields(jug), name: "Milk jug", description: "", version: 1 },
  };
}

/** The Espresso machine after the replace (version 2) and after the merge patch (version 3). */
export function writtenEspresso(espresso: Created, replacedAt: string, patchedAt: string) {
  expect(replacedAt).to.match(TIMESTAMP);
  expect(patchedAt).to.match(TIMESTAMP);
  expect(espresso.createdAt <= replacedAt && replacedAt <= patchedAt, "updatedAt moves forward").to.equal(true);
  const common = { ...espresso, name: "Espresso machine", description: "Dual boiler" };
  return {
    replaced: { ...common, status: "sold", version: 2, updatedAt: replacedAt },
    patched: { ...common, data: { boilers: 1, color: "steel" }, version: 3, updatedAt: patchedAt },
  };
}

/**
 * Pages as they must read: together they hold every stored item exactly once, newest first (the
 * caller's partition in descending id order; ids are UUIDv7, so a later create has a larger id),
 * each page as long as the walk's pages.
 */
export function expectedPages(
  pages: { items: { id: string }[] }[],
  stored: { id: string; createdAt?: string }[],
): unknown[][] {
  const newestFirst = [...stored].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const createdAt = newestFirst.map((item) => item.createdAt ?? "");
  expect(createdAt, "ids sort as their creation times").to.deep.equal([...createdAt].sort().reverse());
  let start = 0;
  return pages.map((page) => {
    const expected = newestFirst.slice(start, start + page.items.length);
    start += page.items.length;
    return expected;
  });
}
