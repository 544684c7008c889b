/**
 * `npm test`: type-check, lint and mocha side by side, each to its end. The type-check and the
 * lint run at `nice 19`, so that they take the time mocha leaves idle rather than slow it down.
 * Each part's output is printed as one block when it ends (prefixed with its name), then one
 * summary line per part, so a failure names its part: a lint failure reads as a lint failure, not
 * as a crash of the tests (an earlier runner killed the others when one failed). Arguments go to
 * mocha (`npm test -- --grep TEXT`).
 */
import { ChildProcess, spawn } from "child_process";
import { readFileSync } from "fs";
import { join } from "path";
import { PROJECT_ROOT } from "../../local/stack-settings";

export interface PartResult {
  name: string;
  code: number;
  seconds: number;
}

/** The parts, by the npm script each runs, and whether it runs at low priority. */
const PARTS: { name: string; script: string; niced: boolean }[] = [
  { name: "typecheck", script: "typecheck", niced: true },
  { name: "lint", script: "lint", niced: true },
  { name: "mocha", script: "test:mocha", niced: false },
];

/** What each failed part means to the reader; the summary adds it after the part's line. */
const FAILURE_HINTS: Record<string, string> = {
  typecheck: "type errors: see [typecheck] above (npm run typecheck)",
  lint: "a lint failure, not a test failure: see [lint] above (npm run lint; npm run format fixes formatting)",
  mocha: "failing tests or coverage under its thresholds: see [mocha] above",
};

export function summary(results: readonly PartResult[]): string[] {
  const failed = results.filter((result) => result.code !== 0);
  return [
    `npm test: ${results
      .map(
        (result) =>
          `${result.name} ${result.code === 0 ? "passed" : `FAILED (exit ${result.code})`} in ${result.seconds} s`,
      )
      .join(", ")}`,
    ...failed.map((result) => `npm test: ${result.name} failed: ${FAILURE_HINTS[result.name] ?? "see above"}`),
  ];
}

const running = new Set<ChildProcess>();

function runPart(part: (typeof PARTS)[number], script: string, args: readonly string[]): Promise<PartResult> {
  const started = Date.now();
  // As npm runs a script: through sh, with the arguments after it ("$@").
  const command = `${part.niced ? "nice -n 19 " : ""}${script} "$@"`;
  const child = spawn("sh", ["-c", command, "sh", ...args], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    child.on("close", (code) => {
      running.delete(child);
      const prefix = `[${part.name}] `;
      const text = Buffer.concat(chunks).toString("utf8").replace(/\n$/, "");
      process.stdout.write(`${text === "" ? "" : `${prefix}${text.split("\n").join(`\n${prefix}`)}\n`}`);
      resolve({ name: part.name, code: code ?? 1, seconds: Math.round((Date.now() - started) / 1000) });
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const scripts = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  // SIGINT reaches every part with the terminal's process group; SIGTERM to this runner alone is passed on.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => running.forEach((child) => child.kill("SIGTERM")));
  const results = await Promise.all(
    PARTS.map((part) => runPart(part, scripts[part.script] ?? "false", part.name === "mocha" ? args : [])),
  );
  const lines = summary(results);
  process.stdout.write(`${lines.join("\n")}\n`);
  process.exitCode = results.some((result) => result.code !== 0) ? 1 : 0;
}

if (require.main === module) {
  void main();
}
