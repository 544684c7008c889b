/**
 * `npm run docs:items` (local/item-docs.ts): the README's tables of an item's fields and of the
 * query parameters say exactly what THE table (handlers/fields.ts) says.
 */
import { readFileSync } from "fs";
import { expect } from "chai";
import { ITEM_FIELDS, QUERY_PARAMETERS } from "../../handlers/fields";
import { ITEM_DOCS_END, ITEM_DOCS_START, renderItemDocs } from "../../local/item-docs";

describe("npm run docs:items", () => {
  it("leaves README.md exactly as it is: its tables have not drifted from handlers/fields.ts", async () => {
    const { file, text } = await renderItemDocs();
    expect(readFileSync(file, "utf8"), "run `npm run docs:items`").to.equal(text);
  });

  it("writes a row for each field and each query parameter, in the table's order", async () => {
    const { text } = await renderItemDocs();
    const block = text.slice(text.indexOf(ITEM_DOCS_START), text.indexOf(ITEM_DOCS_END));
    const named = [...block.matchAll(/^\| `([^`]+)` /gm)].map((match) => match[1]);
    expect(named).to.deep.equal([...Object.keys(ITEM_FIELDS), ...Object.keys(QUERY_PARAMETERS)]);
  });
});
