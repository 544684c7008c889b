/**
 * `npm run lint`: eslint, then prettier's check, each on V8's `--single-threaded` (no background
 * compile or GC threads: under `npm test` both cores are busy anyway). Both run whatever the first
 * finds, and a failure ends with one line that says it is a lint failure, which linter failed and
 * on which files, and what to do, so that inside `npm test` it cannot read like a test failure.
 */
import { spawn } from "child_process";
import { join } from "path";
import { PROJECT_ROOT } from "./stack-settings";

export interface LinterRun {
  linter: "eslint" | "prettier";
  code: number;
  output: string;
}

const LINTERS: { linter: LinterRun["linter"]; args: string[] }[] = [
  {
    linter: "eslint",
    args: [
      "node_modules/eslint/bin/eslint.js",
      "--cache",
      "--cache-location",
      "node_modules/.cache/items-api/eslint/",
      ".",
    ],
  },
  { linter: "prettier", args: ["node_modules/prettier/bin/prettier.cjs", "--check", "--cache", "."] },
];

/** The files a linter's output names: prettier's `[warn] FILE` lines, eslint's absolute paths. */
export function filesNamed(run: LinterRun): string[] {
  const pattern = run.linter === "prettier" ? /^\[warn\] (?!Code style issues)(\S.*)$/gm : /^(\/\S+)$/gm;
  return [...run.output.matchAll(pattern)].map((match) => (match[1] ?? "").replace(`${PROJECT_ROOT}/`, ""));
}

/** The last line of a lint run: empty when both linters passed. */
export function lintVerdict(runs: readonly LinterRun[]): string {
  const failed = runs.filter((run) => run.code !== 0);
  if (failed.length === 0) {
    return "";
  }
  const what = failed
    .map((run) => {
      const files = filesNamed(run);
      return `${run.linter} (exit ${run.code}${files.length > 0 ? `: ${files.join(", ")}` : ""})`;
    })
    .join(" and ");
  const fixes = [
    ...(failed.some((run) => run.linter === "prettier") ? ["`npm run format` rewrites what prettier refused"] : []),
    ...(failed.some((run) => run.linter === "eslint") ? ["eslint's messages above say what to change"] : []),
    "a file you wrote yourself (an export, say) belongs in an ignored path (.gitignore)",
  ];
  return `lint failed: ${what}. This is a lint failure, not a test failure: ${fixes.join("; ")}.`;
}

function runLinter(linter: (typeof LINTERS)[number]): Promise<LinterRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--single-threaded", ...linter.args], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const relay = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString("utf8");
      to.write(chunk);
    };
    child.stdout.on("data", (chunk: Buffer) => relay(chunk, process.stdout));
    child.stderr.on("data", (chunk: Buffer) => relay(chunk, process.stderr));
    child.on("error", (error) => resolve({ linter: linter.linter, code: 127, output: error.message }));
    child.on("close", (code) => resolve({ linter: linter.linter, code: code ?? 1, output }));
  });
}

async function main(): Promise<void> {
  const runs: LinterRun[] = [];
  for (const linter of LINTERS) {
    runs.push(await runLinter(linter));
  }
  const verdict = lintVerdict(runs);
  if (verdict !== "") {
    process.stderr.write(`${verdict}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  process.chdir(join(PROJECT_ROOT));
  void main();
}
