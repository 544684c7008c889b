/**
 * `npm run docs:items`: writes the README's tables of an item's fields and of the query
 * parameters from THE table (handlers/fields.ts), with the rules the handlers alone enforce
 * (infra/schemas.ts `HANDLER_ONLY_RULES`), between the README's `item-fields` markers, formatted
 * as `prettier --check` expects; test/local/item-docs.test.ts fails when it drifts.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { ERROR_STATUS } from "../handlers/errors";
import { FIELD_SPECS, FieldSpec, ParameterSpec, QUERY_PARAMETERS, ruleOf } from "../handlers/fields";
import { HANDLER_ONLY_RULES } from "../infra/schemas";
import { markdownRow, prettierFormat, replaceBetween, writeDocs } from "./config-docs";
import { PROJECT_ROOT } from "./stack-settings";

export const ITEM_DOCS_START = "<!-- item-fields: written by `npm run docs:items` from handlers/fields.ts -->";
export const ITEM_DOCS_END = "<!-- end of item-fields -->";

const code = (text: string): string => `\`${text}\``;
/** Plain text as Markdown shows it as written (patterns and `__proto__` hold its special characters). */
const escaped = (text: string): string => text.replace(/[\\`*_[\]<>]/g, "\\$&");

/** What a create or replace does with the field, and what a PATCH's null does to it. */
function fieldUse(spec: FieldSpec): [string, string] {
  if (spec.readOnly) {
    const refused = `refused: ${ERROR_STATUS.read_only_field} read_only_field`;
    return [`set by the server; ${refused}`, refused];
  }
  if (spec.required) {
    return ["required", "refused: it cannot be removed"];
  }
  return spec.fallback === undefined
    ? ["optional", "removes it"]
    : [
        `optional: ${code(JSON.stringify(spec.fallback))} when left out`,
        `resets it to ${code(JSON.stringify(spec.fallback))}`,
      ];
}

function table(columns: readonly string[], rows: readonly string[][]): string {
  return [markdownRow(columns), markdownRow(columns.map(() => "---")), ...rows.map(markdownRow)].join("\n");
}

/** The README's block between its markers, unformatted (prettier pads the tables). */
export function itemDocs(): string {
  const fields = table(
    ["field", "type", "allowed", "create and replace", "null in a PATCH", "meaning"],
    FIELD_SPECS.map(([name, spec]) => [
      code(name),
      spec.type === "string" && spec.format !== undefined ? `string (${spec.format})` : spec.type,
      ruleOf(spec),
      ...fieldUse(spec),
      spec.description,
    ]),
  );
  const parameters = table(
    ["query parameter", "operations", "type", "allowed", "default", "meaning"],
    (Object.entries(QUERY_PARAMETERS) as [string, ParameterSpec][]).map(([name, spec]) => [
      code(name),
      spec.operations.join(", "),
      spec.type,
      ruleOf(spec),
      spec.fallback === undefined ? "–" : code(JSON.stringify(spec.fallback)),
      spec.description,
    ]),
  );
  const rules = HANDLER_ONLY_RULES.map((rule) => `- ${escaped(rule)}`).join("\n");
  return `${fields}\n\n${parameters}\n\nWhat the gateway's models cannot state, and the handlers alone enforce:\n\n${rules}`;
}

/** README.md with the block from the table; everything else is kept. */
export async function renderItemDocs(root: string = PROJECT_ROOT): Promise<{ file: string; text: string }> {
  const file = join(root, "README.md");
  const block = await prettierFormat(itemDocs(), join(root, "item-fields.md"));
  return { file, text: replaceBetween(readFileSync(file, "utf8"), ITEM_DOCS_START, ITEM_DOCS_END, block) };
}

if (require.main === module) {
  writeDocs("docs:items", async () => [await renderItemDocs()]);
}
