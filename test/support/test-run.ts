/**
 * `npm test [-- [--no-typecheck] [--no-lint] [mocha arguments]]`: the type check, the two
 * linters and mocha, side by side, each run to its end whatever the others do; then one summary
 * line per part, naming each that failed and what to run about it. The exit code is 0 only if
 * every part passed.
 *
 * Without mocha arguments mocha runs the whole suite with coverage and its thresholds
 * (test/support/coverage.ts). With spec files (`npm test -- test/unit/model.test.ts`) it runs
 * just those, without the whole suite's global setup (a spec that needs a Pulumi program run
 * starts its own) and without coverage; with options only (`npm test -- --grep cursor`) it runs
 * the suite's files with them. `--no-typecheck` and `--no-lint` leave those parts out.
 *
 * The type check and the linters run at `nice 19`, so that they take the time mocha leaves idle
 * rather than slow it down. A part's output is printed in one block when it ends; mocha's as it
 * comes.
 */
import { spawn } from "child_process";
import { existsSync } from "fs";
import { join } from "path";
import { performance } from "perf_hooks";
import { PROJECT_ROOT, mochaBin, mochaRcFlags } from "./mocha-run";

interface Part {
  name: string;
  command: string[];
  /** What to do when it fails, for the summary. */
  hint: string;
  /** Print the output as it comes rather than in one block at the end. */
  live?: true;
}

interface Outcome {
  part: Part;
  code: number;
  seconds: number;
}

const niced = (script: string): string[] => ["nice", "-n", "19", "npm", "run", "--silent", script];

function parts(argv: readonly string[]): Part[] {
  const mochaArgs = argv.filter((arg) => arg !== "--no-typecheck" && arg !== "--no-lint");
  // Spec files: a path given to mocha (an option's value, such as --grep's text, is not one).
  const subset = mochaArgs.some((arg) => arg.endsWith(".ts") || existsSync(join(PROJECT_ROOT, arg)));
  const mocha = [
    process.execPath,
    ...(mochaArgs.length === 0
      ? ["-r", "./local/swc-register.cjs", "test/support/coverage.ts"]
      : [mochaBin(), ...(subset ? ["--no-config", ...mochaRcFlags()] : []), ...mochaArgs]),
  ];
  return [
    ...(argv.includes("--no-typecheck")
      ? []
      : [{ name: "typecheck", command: niced("typecheck"), hint: "the compiler's errors are above" }]),
    ...(argv.includes("--no-lint")
      ? []
      : [
          { name: "eslint", command: niced("lint:eslint"), hint: "its findings are above" },
          { name: "prettier", command: niced("lint:prettier"), hint: "`npm run format` rewrites the files it names" },
        ]),
    { name: "mocha", command: mocha, hint: "the failing tests are listed above", live: true },
  ];
}

function run(part: Part): Promise<Outcome> {
  const started = performance.now();
  const [command = "", ...args] = part.command;
  const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const chunks: Buffer[] = [];
  const take = (chunk: Buffer, to: NodeJS.WriteStream) => (part.live ? to.write(chunk) : chunks.push(chunk));
  child.stdout.on("data", (chunk: Buffer) => take(chunk, process.stdout));
  child.stderr.on("data", (chunk: Buffer) => take(chunk, process.stderr));
  return new Promise((resolve) => {
    child.on("error", (error) => chunks.push(Buffer.from(`${error.message}\n`)));
    child.on("close", (code, signal) => {
      const outcome = {
        part,
        code: code ?? (signal === null ? 1 : 128),
        seconds: (performance.now() - started) / 1000,
      };
      if (!part.live) {
        const output = Buffer.concat(chunks).toString("utf8").trimEnd();
        process.stdout.write(`\n── ${part.name}: ${verdict(outcome)}\n${output === "" ? "" : `${output}\n`}`);
      }
      resolve(outcome);
    });
  });
}

function verdict(outcome: Outcome): string {
  return `${outcome.code === 0 ? "ok" : `FAILED (exit ${outcome.code})`} in ${outcome.seconds.toFixed(1)} s`;
}

async function main(): Promise<void> {
  const outcomes = await Promise.all(parts(process.argv.slice(2)).map(run));
  const failed = outcomes.filter((outcome) => outcome.code !== 0);
  const width = Math.max(...outcomes.map((outcome) => outcome.part.name.length));
  process.stdout.write(
    `\nnpm test: ${failed.length === 0 ? "every part passed" : `${failed.map((outcome) => outcome.part.name).join(", ")} failed`}\n` +
      outcomes
        .map(
          (outcome) =>
            `  ${outcome.part.name.padEnd(width)}  ${verdict(outcome)}${outcome.code === 0 ? "" : `: ${outcome.part.hint}`}`,
        )
        .join("\n") +
      "\n",
  );
  process.exitCode = failed.length === 0 ? 0 : 1;
}

void main();
