/**
 * `npm run config:docs` (local/config-docs.ts): Pulumi.yaml's `config:` block and the README's
 * table of keys say exactly what THE table (`CONFIG` in infra/settings.ts) says, key by key:
 * type, secret, default, allowed values and description; and the validators' messages state the
 * same allowed values.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { CONFIG, CONFIG_KEYS, ConfigKey, RawValue, allowedText, parseSettings } from "../../infra/settings";
import {
  DOCUMENTED_STACKS,
  README_TABLE_END,
  README_TABLE_START,
  readmeValue,
  renderConfigDocs,
  renderReadme,
} from "../../local/config-docs";
import { readStackConfig } from "../../local/stack-settings";
import { PROJECT_ROOT } from "../support/process";
import { expectPlainError } from "../unit/fixtures";

const read = (file: string): string => readFileSync(join(PROJECT_ROOT, file), "utf8");

/** The README table's rows as cells, header first (separator row dropped, `\|` unescaped). */
function readmeTableRows(readme: string): string[][] {
  const start = readme.indexOf(README_TABLE_START);
  const end = readme.indexOf(README_TABLE_END);
  expect(start, "start marker").to.be.greaterThan(-1);
  expect(end, "end marker").to.be.greaterThan(start);
  return readme
    .slice(start + README_TABLE_START.length, end)
    .split("\n")
    .filter((line) => line.startsWith("|") && !/^\|[\s|-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim().replace(/\\\|/g, "|")),
    );
}

/** A value no key accepts, of the key's own kind where that matters (a list for lists). */
function wrongValue(spec: ConfigKey): RawValue {
  return spec.type === "array" ? ["not an origin"] : "not-a-value";
}

describe("npm run config:docs", function () {
  this.timeout(30000);

  it("leaves Pulumi.yaml and README.md exactly as they are: neither has drifted from the table", async () => {
    for (const { file, text } of await renderConfigDocs()) {
      expect(readFileSync(file, "utf8"), file).to.equal(text);
    }
  });

  it("declares in Pulumi.yaml exactly the table's keys, in order, with type, secret, description and default", () => {
    const project = parse(read("Pulumi.yaml")) as { name: string; runtime: unknown; config: Record<string, unknown> };
    expect(project.name).to.equal("items-api");
    expect(project.runtime).to.deep.equal({ name: "nodejs", options: { typescript: true } });
    expect(Object.keys(project.config)).to.deep.equal(CONFIG_KEYS.map((spec) => spec.key));
    for (const spec of CONFIG_KEYS) {
      const declared = project.config[spec.key];
      // A boolean's type says all it accepts; every other description ends with its allowed values.
      const description =
        spec.type === "boolean" ? spec.description : `${spec.description} Allowed: ${allowedText(spec)}.`;
      expect(declared, spec.key).to.deep.equal({
        type: spec.type,
        ...(spec.secret ? { secret: true } : {}),
        description,
        ...(spec.type === "array" ? { items: { type: "string" } } : {}),
        default: spec.default,
      });
    }
    expect(
      Object.keys(project.config).filter((key) => (project.config[key] as { secret?: boolean }).secret),
    ).to.deep.equal(["cursorSecret"]);
  });

  it("lists in the README table exactly the table's keys, in order, with type, default, allowed values, each stack's value and description", () => {
    const [header, ...rows] = readmeTableRows(read("README.md"));
    expect(header).to.deep.equal(["key", "type", "default", "allowed", "dev", "prod", "meaning"]);
    expect(DOCUMENTED_STACKS).to.deep.equal(["dev", "prod"]);
    const dev = readStackConfig("dev");
    const prod = readStackConfig("prod");
    expect(rows).to.deep.equal(
      CONFIG_KEYS.map((spec) => [
        `\`${spec.key}\``,
        spec.secret ? `${spec.type} (secret)` : spec.type,
        readmeValue(spec.default),
        allowedText(spec),
        readmeValue(dev.get(spec.key)),
        readmeValue(prod.get(spec.key)),
        spec.description,
      ]),
    );
    // Spot checks of how values are spelled: bare, "" for empty, JSON lists, a dash when unset.
    expect(rows.find((row) => row[0] === "`logRetentionDays`")?.slice(4, 6)).to.deep.equal(["7", "365"]);
    expect(rows.find((row) => row[0] === "`alarmEmail`")?.slice(2, 6)).to.deep.equal([
      '""',
      allowedText(CONFIG.alarmEmail),
      "–",
      "oncall@example.com",
    ]);
    expect(rows.find((row) => row[0] === "`corsAllowedOrigins`")?.slice(2, 6)).to.deep.equal([
      "[]",
      allowedText(CONFIG.corsAllowedOrigins),
      '["*"]',
      '["https://app.example.com"]',
    ]);
  });

  it("states each range once, as the validators state it", () => {
    expect(allowedText(CONFIG.lambdaTimeoutSeconds)).to.equal("an integer from 1 to 28");
    expect(allowedText(CONFIG.lambdaReservedConcurrency)).to.equal("an integer from 1 to 1000, or -1 (no reservation)");
    expect(allowedText(CONFIG.logLevel)).to.equal("one of debug, info, warn, error");
    expect(allowedText(CONFIG.alarmEmail)).to.equal("an e-mail address, or empty (no subscription)");
    expect(allowedText(CONFIG.bundleAwsSdk)).to.equal("true or false");
    for (const spec of CONFIG_KEYS.filter((candidate) => candidate.key !== "cursorSecret")) {
      const raw = wrongValue(spec);
      const expected =
        spec.type === "array"
          ? `"not an origin" is not ${spec.items.label}`
          : `must be ${allowedText(spec)}, got ${JSON.stringify(raw)}`;
      expectPlainError(
        () => parseSettings((key) => (key === spec.key ? raw : undefined)),
        `invalid config items-api:${spec.key}: ${expected}`,
      );
    }
  });

  describe("on a copy of the project", () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), "items-api-config-docs-"));
      for (const file of ["Pulumi.yaml", "README.md", "Pulumi.dev.yaml", "Pulumi.prod.yaml", ".prettierrc.json"]) {
        copyFileSync(join(PROJECT_ROOT, file), join(root, file));
      }
    });
    afterEach(() => {
      rmSync(root, { recursive: true, force: true });
    });

    it("rewrites a drifted config block and table back to the table, keeping the rest of each file", async () => {
      const readme = read("README.md");
      writeFileSync(
        join(root, "README.md"),
        readme.replace("| an integer from 128 to 10240 ", "| an integer from 128 to 3008   "),
      );
      writeFileSync(
        join(root, "Pulumi.yaml"),
        read("Pulumi.yaml").replace("  logLevel:\n    type: string\n", "  logLevel:\n    type: integer\n"),
      );
      expect(readFileSync(join(root, "README.md"), "utf8")).to.not.equal(readme);
      const rendered = await renderConfigDocs(root);
      expect(rendered.map(({ file, text }) => [file, text])).to.deep.equal([
        [join(root, "Pulumi.yaml"), read("Pulumi.yaml")],
        [join(root, "README.md"), readme],
      ]);
    });

    it("shows a stack's new value in its column", async () => {
      const devFile = join(root, "Pulumi.dev.yaml");
      writeFileSync(devFile, readFileSync(devFile, "utf8").replace("logRetentionDays: 7", "logRetentionDays: 30"));
      const [, ...rows] = readmeTableRows(await renderReadme(root));
      expect(rows.find((row) => row[0] === "`logRetentionDays`")?.[4]).to.equal("30");
    });

    it("refuses a README without the table's markers", async () => {
      writeFileSync(join(root, "README.md"), read("README.md").replace(README_TABLE_END, ""));
      let error: unknown;
      await renderReadme(root).catch((caught: unknown) => {
        error = caught;
      });
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.equal(
        `README.md lacks the markers ${README_TABLE_START} ... ${README_TABLE_END}`,
      );
    });
  });
});
