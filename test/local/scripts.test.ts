/**
 * The npm scripts as a new user meets them: `--help` on every one prints its usage and runs
 * nothing (local/script.cjs, local/scripts.json), a lint failure says it is one (local/lint.ts),
 * `npm test`'s summary names each part that failed (test/support/npm-test.ts), and the files the
 * README's commands write never reach the lint.
 */
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import * as prettier from "prettier";
import { lintVerdict } from "../../local/lint";
import { PROJECT_ROOT } from "../../local/stack-settings";
import { mochaBin } from "../support/mocha-run";
import { partsOf, summary } from "../support/npm-test";

interface Launcher {
  SCRIPTS: Record<string, { usage: string; summary: string; details: string[] }>;
  run(
    argv: string[],
    write: (text: string) => void,
    start: (command: string, args: string[]) => { on: (...args: unknown[]) => void; kill: () => void },
  ): number | Promise<number>;
}
// The launcher is plain CommonJS (a bare Node start per script).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const launcher = require("../../local/script.cjs") as Launcher;

const packageScripts = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;

/** A script's words as sh splits them (the scripts quote with double quotes only). */
function words(script: string): string[] {
  return [...script.matchAll(/"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? "");
}

describe("npm scripts", function () {
  this.timeout(30000);

  it("run every script through the launcher under its own name, and the usage table has exactly those names", () => {
    for (const [name, script] of Object.entries(packageScripts)) {
      expect(words(script).slice(0, 3), name).to.deep.equal(["node", "local/script.cjs", name]);
      expect(words(script).length, name).to.be.greaterThan(3);
    }
    expect(Object.keys(launcher.SCRIPTS).sort()).to.deep.equal(Object.keys(packageScripts).sort());
  });

  for (const [name, script] of Object.entries(packageScripts)) {
    it(`${name} -- --help prints its usage, exits 0 and runs nothing`, async () => {
      let output = "";
      const started: string[] = [];
      const code = await launcher.run(
        [...words(script).slice(2), "--help"],
        (text) => (output += text),
        (command) => {
          started.push(command);
          throw new Error("ran the command");
        },
      );
      expect(code).to.equal(0);
      expect(started).to.deep.equal([]);
      const usage = launcher.SCRIPTS[name]?.usage ?? "";
      expect(output.startsWith(`Usage: ${usage}\n`)).to.equal(true);
      expect(usage).to.match(
        name === "start" || name === "test" ? new RegExp(`^npm ${name}\\b`) : new RegExp(`^npm run ${name}\\b`),
      );
    });
  }

  it("without --help, runs the script's command with the arguments npm appends", async () => {
    const started: { command: string; args: string[] }[] = [];
    const code = await launcher.run(
      ["openapi", "node", "local/export-openapi.ts", "--stack", "prod"],
      () => undefined,
      (command, args) => {
        started.push({ command, args });
        return {
          on: (event: unknown, listener: unknown) => event === "exit" && (listener as (code: number) => void)(3),
          kill: () => undefined,
        };
      },
    );
    expect(started).to.deep.equal([
      { command: process.execPath, args: ["local/export-openapi.ts", "--stack", "prod"] },
    ]);
    expect(code).to.equal(3);
  });

  it("--help as npm runs it (the script through sh, --help appended): verify prints its usage, before any check", () => {
    const result = spawnSync("sh", ["-c", `${packageScripts.verify} "$@"`, "sh", "--help"], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
    });
    expect(result.status).to.equal(0);
    expect(result.stdout).to.match(/^Usage: npm run verify -- \[--stack NAME\]/);
    expect(result.stdout).to.contain("--api-key KEY");
  });

  it("a lint failure says it is one, which linter, on which files, and what to do", () => {
    const prettierFailed = {
      linter: "prettier" as const,
      code: 1,
      output:
        "Checking formatting...\n[warn] api.json\n[warn] Code style issues found in the above file. Run Prettier with --write to fix.\n",
    };
    const eslintPassed = { linter: "eslint" as const, code: 0, output: "" };
    expect(lintVerdict([eslintPassed, { ...prettierFailed, code: 0, output: "" }])).to.equal("");
    expect(lintVerdict([eslintPassed, prettierFailed])).to.equal(
      "lint failed: prettier (exit 1: api.json). This is a lint failure, not a test failure: `npm run format` rewrites what prettier refused; a file you wrote yourself (an export, say) belongs in an ignored path (.gitignore).",
    );
    const eslintFailed = {
      linter: "eslint" as const,
      code: 1,
      output: `\n${PROJECT_ROOT}/infra/x.ts\n  1:1  error  no  rule\n`,
    };
    expect(lintVerdict([eslintFailed, prettierFailed])).to.match(
      /^lint failed: eslint \(exit 1: infra\/x\.ts\) and prettier \(exit 1: api\.json\)\./,
    );
  });

  it("npm test's summary names each part and, for a failed lint, that it is a lint failure", () => {
    expect(
      summary([
        { name: "typecheck", code: 0, seconds: 12 },
        { name: "lint", code: 1, seconds: 14 },
        { name: "mocha", code: 0, seconds: 51 },
      ]),
    ).to.deep.equal([
      "npm test: typecheck passed in 12 s, lint FAILED (exit 1) in 14 s, mocha passed in 51 s",
      "npm test: lint failed: a lint failure, not a test failure: see [lint] above (npm run lint; npm run format fixes formatting)",
    ]);
  });

  it("npm test runs the whole suite (coverage is test:coverage's), just the files named, or the suite with mocha's options; --no-typecheck and --no-lint leave those out", () => {
    const summarized = (argv: string[]) =>
      partsOf(argv, packageScripts).map((part) => ({
        name: part.name,
        live: part.live,
        // The script's words, or mocha's arguments after its bin.
        command:
          part.command[0] === "sh"
            ? words(part.command[2] ?? "").concat(part.command.slice(4))
            : part.command.slice(part.command.indexOf(mochaBin()) + 1),
      }));
    const checks = [
      { name: "typecheck", live: false, command: ["nice", "-n", "19", ...words(packageScripts.typecheck ?? ""), "$@"] },
      { name: "lint", live: false, command: ["nice", "-n", "19", ...words(packageScripts.lint ?? ""), "$@"] },
    ];
    const wholeSuite = words(packageScripts["test:mocha"] ?? "");
    expect(wholeSuite.join(" ")).not.to.contain("coverage");
    expect(packageScripts["test:coverage"]).to.contain("test/support/coverage.ts");
    expect(summarized([])).to.deep.equal([...checks, { name: "mocha", live: true, command: [...wholeSuite, "$@"] }]);
    expect(summarized(["--grep", "cursor"])).to.deep.equal([
      ...checks,
      { name: "mocha", live: true, command: [...wholeSuite, "$@", "--grep", "cursor"] },
    ]);
    const [mocha] = summarized(["--no-lint", "--no-typecheck", "test/unit/model.test.ts", "--grep", "x"]);
    expect(mocha?.name).to.equal("mocha");
    // The file alone: no spec list and no global setup of the whole suite.
    expect(mocha?.command.slice(0, 1)).to.deep.equal(["--no-config"]);
    expect(mocha?.command.slice(-3)).to.deep.equal(["test/unit/model.test.ts", "--grep", "x"]);
    expect(mocha?.command).to.include.members(["--require", "test/support/setup.ts", "--timeout", "--exit"]);
    expect(mocha?.command).not.to.include("test/support/program-runs.ts");
    expect(mocha?.command.join(" ")).not.to.contain("test/**/*.test.ts");
    expect(summarized(["--no-lint", "test/unit"]).map((part) => part.name)).to.deep.equal(["typecheck", "mocha"]);
  });

  it("the files the README's commands write are ignored by git and prettier, so npm test never lints them", async () => {
    const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
    const outs = [...readme.matchAll(/--out ([\w./-]+)/g)].map((match) => match[1] ?? "");
    expect(outs).to.include("api.json");
    const written = [
      ...outs,
      "openapi.json",
      "openapi.prod.json",
      "outputs.json",
      ".data/dev/000003.log",
      ".data/prod/cursor-secret-prod",
      "bench/out/cold/floor/index.js",
      "coverage/swc/coverage-1.json",
      "test/browser/out/docs.png",
    ];
    for (const file of written) {
      const info = await prettier.getFileInfo(join(PROJECT_ROOT, file), {
        ignorePath: [join(PROJECT_ROOT, ".gitignore"), join(PROJECT_ROOT, ".prettierignore")],
      });
      expect(info.ignored, `prettier: ${file}`).to.equal(true);
      expect(
        spawnSync("git", ["check-ignore", "-q", "--no-index", file], { cwd: PROJECT_ROOT }).status,
        `git: ${file}`,
      ).to.equal(0);
    }
    // The project's own root JSON files are still checked.
    for (const file of ["package.json", "tsconfig.json", ".prettierrc.json", ".mocharc.json"]) {
      const info = await prettier.getFileInfo(join(PROJECT_ROOT, file), {
        ignorePath: [join(PROJECT_ROOT, ".gitignore"), join(PROJECT_ROOT, ".prettierignore")],
      });
      expect(info.ignored, file).to.equal(false);
    }
  });
});
