/**
 * `npm run config:docs`: writes what the docs say about the config keys from THE table
 * (`CONFIG` in infra/settings.ts): `Pulumi.yaml`'s `config:` block and the README's table of
 * keys (between its `config-keys` markers), with each stack's values. Both files are formatted as
 * `prettier --check` expects; test/local/config-docs.test.ts fails when either drifts.
 */
import { readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { format, resolveConfig } from "prettier";
import { parseDocument } from "yaml";
import { CONFIG_KEYS, ConfigKey, RawValue, allowedText, describeKey } from "../infra/settings";
import { PROJECT_ROOT, readStackConfig } from "./stack-settings";

/** The stacks whose values the README table shows, one column each. */
export const DOCUMENTED_STACKS = ["dev", "prod"] as const;

export const README_TABLE_START = "<!-- config-keys: written by `npm run config:docs` from infra/settings.ts -->";
export const README_TABLE_END = "<!-- end of config-keys -->";

/** One key as Pulumi.yaml declares it (Pulumi checks stack values against `type` and `secret`). */
export interface ProjectConfigDeclaration {
  type: ConfigKey["type"];
  secret?: true;
  description: string;
  items?: { type: "string" };
  default: string | number | boolean | string[];
}

function projectConfig(): Record<string, ProjectConfigDeclaration> {
  return Object.fromEntries(
    CONFIG_KEYS.map((spec) => [
      spec.key,
      {
        type: spec.type,
        ...(spec.secret ? { secret: true } : {}),
        description: describeKey(spec),
        ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        default: spec.type === "array" ? [...spec.default] : spec.default,
      },
    ]),
  );
}

const README_COLUMNS = ["key", "type", "default", "allowed", ...DOCUMENTED_STACKS, "meaning"] as const;

/** A value as the README shows it: strings bare (empty as ""), lists as JSON, unset as a dash. */
export function readmeValue(value: RawValue): string {
  if (value === undefined) {
    return "–";
  }
  if (typeof value === "string") {
    return value === "" ? '""' : value;
  }
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The README's cells for one key, before markdown escaping. */
function readmeRow(spec: ConfigKey & { key: string }, stacks: ReadonlyMap<string, RawValue>[]): string[] {
  return [
    `\`${spec.key}\``,
    spec.secret ? `${spec.type} (secret)` : spec.type,
    readmeValue(spec.default),
    allowedText(spec),
    ...stacks.map((stack) => readmeValue(stack.get(spec.key))),
    spec.description,
  ];
}

export function markdownRow(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
}

/** The README table, unformatted (prettier pads it). */
function readmeTable(root: string = PROJECT_ROOT): string {
  const stacks = DOCUMENTED_STACKS.map((stack) => readStackConfig(stack, root));
  return [
    markdownRow(README_COLUMNS),
    markdownRow(README_COLUMNS.map(() => "---")),
    ...CONFIG_KEYS.map((spec) => markdownRow(readmeRow(spec, stacks))),
  ].join("\n");
}

export async function prettierFormat(text: string, file: string): Promise<string> {
  return format(text, { ...(await resolveConfig(file)), filepath: file });
}

/** Pulumi.yaml with its `config:` block from the table; everything else in the file is kept. */
async function renderProjectFile(root: string = PROJECT_ROOT): Promise<string> {
  const file = join(root, "Pulumi.yaml");
  const document = parseDocument(readFileSync(file, "utf8"));
  document.set("config", document.createNode(projectConfig()));
  return prettierFormat(document.toString(), file);
}

/** `text` with `content` between the markers `start` and `end`; everything else is kept. */
export function replaceBetween(text: string, start: string, end: string, content: string): string {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) {
    throw new Error(`README.md lacks the markers ${start} ... ${end}`);
  }
  return `${text.slice(0, from + start.length)}\n\n${content}\n${text.slice(to)}`;
}

/** README.md with the table between its markers from the table; everything else is kept. */
export async function renderReadme(root: string = PROJECT_ROOT): Promise<string> {
  const file = join(root, "README.md");
  const table = await prettierFormat(readmeTable(root), join(root, "config-keys.md"));
  return replaceBetween(readFileSync(file, "utf8"), README_TABLE_START, README_TABLE_END, table);
}

/** The files this script writes and what they should hold. */
export async function renderConfigDocs(root: string = PROJECT_ROOT): Promise<Array<{ file: string; text: string }>> {
  return [
    { file: join(root, "Pulumi.yaml"), text: await renderProjectFile(root) },
    { file: join(root, "README.md"), text: await renderReadme(root) },
  ];
}

/** A docs script's main: writes each file whose text differs, saying which it wrote. */
export function writeDocs(script: string, render: () => Promise<Array<{ file: string; text: string }>>): void {
  render().then(
    (outputs) => {
      for (const { file, text } of outputs) {
        const changed = readFileSync(file, "utf8") !== text;
        if (changed) {
          writeFileSync(file, text);
        }
        process.stdout.write(`${script}: ${changed ? "wrote" : "unchanged"} ${file}\n`);
      }
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) {
  writeDocs("config:docs", () => renderConfigDocs());
}
