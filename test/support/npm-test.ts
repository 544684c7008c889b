/**
 * `npm test [-- [--no-typecheck] [--no-lint] [FILES...] [MOCHA OPTIONS]]`: type-check, lint and
 * mocha side by side, each to its end. The type-check and the lint run at `nice 19`, so that they
 * take the time mocha leaves idle rather than slow it down. Mocha's output is printed as it comes;
 * each other part's as one block when it ends (prefixed with its name); then one summary line per
 * part, so a failure names its part: a lint failure reads as a lint failure, not as a crash of the
 * tests (an earlier runner killed the others when one failed).
 *
 * Without mocha arguments mocha runs the whole suite (`npm run test:mocha`). With test files it
 * runs just those, without the whole suite's global setup (a file that needs a Pulumi program run
 * starts its own); with options only (`--grep TEXT`) the suite's files with them. `--no-typecheck`
 * and `--no-lint` leave those parts out. Coverage and its thresholds are `npm run test:coverage`
 * (test/support/coverage.ts), which .ci/run and the pull-request workflow run: V8's coverage,
 * in mocha and in the Pulumi program's process, cost the run 8-10 s of its minute.
 */
import { ChildProcess, spawn } from "child_process";
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { PROJECT_ROOT, mochaBin, mochaRcFlags } from "./mocha-run";

export interface PartResult {
  name: string;
  code: number;
  seconds: number;
}

/** One part of a run: its name, the command (argv) and whether its output is printed as it comes. */
export interface Part {
  name: "typecheck" | "lint" | "mocha";
  command: string[];
  live: boolean;
}

/** What each failed part means to the reader; the summary adds it after the part's line. */
const FAILURE_HINTS: Record<string, string> = {
  typecheck: "type errors: see [typecheck] above (npm run typecheck)",
  lint: "a lint failure, not a test failure: see [lint] above (npm run lint; npm run format fixes formatting)",
  mocha: "failing tests: see mocha's output above",
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

/** An npm script's command as npm runs it: through sh, with the arguments after it ("$@"). */
function scriptCommand(script: string, niced: boolean, args: readonly string[] = []): string[] {
  return ["sh", "-c", `${niced ? "nice -n 19 " : ""}${script} "$@"`, "sh", ...args];
}

/**
 * Pure: the parts `npm test` runs for `argv` (what follows `--`), given the package's scripts. A
 * test file is an argument naming an existing path or ending in `.ts` (an option's value, such as
 * --grep's text, is neither).
 */
export function partsOf(
  argv: readonly string[],
  scripts: Record<string, string>,
  isPath: (arg: string) => boolean = (arg) => existsSync(join(PROJECT_ROOT, arg)),
): Part[] {
  const skip = new Set(["--no-typecheck", "--no-lint"]);
  const mochaArgs = argv.filter((arg) => !skip.has(arg));
  const files = mochaArgs.some((arg) => !arg.startsWith("-") && (arg.endsWith(".ts") || isPath(arg)));
  const mocha = files
    ? [process.execPath, mochaBin(), "--no-config", ...mochaRcFlags(), ...mochaArgs]
    : scriptCommand(scripts["test:mocha"] ?? "false", false, mochaArgs);
  return [
    ...(argv.includes("--no-typecheck")
      ? []
      : [{ name: "typecheck" as const, command: scriptCommand(scripts.typecheck ?? "false", true), live: false }]),
    ...(argv.includes("--no-lint")
      ? []
      : [{ name: "lint" as const, command: scriptCommand(scripts.lint ?? "false", true), live: false }]),
    { name: "mocha", command: mocha, live: true },
  ];
}

const running = new Set<ChildProcess>();

function runPart(part: Part): Promise<PartResult> {
  const started = Date.now();
  const [command = "false", ...args] = part.command;
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", part.live ? "inherit" : "pipe", part.live ? "inherit" : "pipe"],
  });
  running.add(child);
  const chunks: Buffer[] = [];
  child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    child.on("error", (error) => chunks.push(Buffer.from(`${error.message}\n`)));
    child.on("close", (code, signal) => {
      running.delete(child);
      const prefix = `[${part.name}] `;
      const text = Buffer.concat(chunks).toString("utf8").replace(/\n$/, "");
      process.stdout.write(`${text === "" ? "" : `${prefix}${text.split("\n").join(`\n${prefix}`)}\n`}`);
      resolve({
        name: part.name,
        code: code ?? (signal === null ? 1 : 128),
        seconds: Math.round((Date.now() - started) / 1000),
      });
    });
  });
}

async function main(): Promise<void> {
  const scripts = (
    JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  // SIGINT reaches every part with the terminal's process group; SIGTERM to this runner alone is passed on.
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", () => running.forEach((child) => child.kill("SIGTERM")));
  const results = await Promise.all(partsOf(process.argv.slice(2), scripts).map(runPart));
  process.stdout.write(`${summary(results).join("\n")}\n`);
  process.exitCode = results.some((result) => result.code !== 0) ? 1 : 0;
}

if (require.main === module) {
  void main();
}
