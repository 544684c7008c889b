/**
 * Cold init: a fresh Node process per sample loads one Lambda module and runs its factory
 * (bench/cold-runner.ts), against the floor (bench/floor.ts: the two SDK packages and a document
 * client, what any DynamoDB Lambda on SDK v3 pays at least) measured in the same run. Each
 * function runs with the environment the stack gives it; targets are taken in turn, round after
 * round, after one unmeasured round, so drift on the machine falls on all of them alike.
 */
import { execFile } from "child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { promisify } from "util";
import * as ts from "typescript";
import type { ColdSample } from "./cold-runner";

const execFileAsync = promisify(execFile);

export interface ColdTarget {
  name: string;
  /** The serialized `__index.js`. */
  code: string;
  /** The function's environment variables; the SDK's region and credentials come from ours. */
  environment: Record<string, string>;
  /** Package folders the archive ships (e.g. `node_modules/@aws-sdk/client-dynamodb`), copied from the project. */
  packages?: string[];
}

/** Medians over the runs unless said otherwise (firstResponseMs is NaN for the floor: it has no handler). */
export interface ColdFigure extends Omit<ColdSample, "status"> {
  name: string;
  runs: number;
  /** The least init CPU time of any run: other work on the machine only ever adds to it. */
  minInitCpuMs: number;
  /** minInitCpuMs against the floor's: the work Lambda's CPU share stretches, steadier than wall time. */
  cpuRatioToFloor: number;
  firstResponseMs: number;
}

export const FLOOR = "floor (SDK + document client)";

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** TypeScript to CommonJS, one file, no type check. */
function transpile(source: string, target: string): void {
  const output = ts.transpileModule(readFileSync(source, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  mkdirSync(join(target, ".."), { recursive: true });
  writeFileSync(target, output.outputText);
}

interface PreparedTarget {
  name: string;
  path: string;
  env: Record<string, string>;
}

/**
 * Writes the runner, the floor and each target's files to `dir`, which must be inside the project
 * so that `require("@aws-sdk/...")` resolves against its node_modules as Lambda's does against
 * the runtime's; the floor comes first.
 */
function prepareTargets(dir: string, functions: ColdTarget[]): { runner: string; targets: PreparedTarget[] } {
  rmSync(dir, { recursive: true, force: true });
  const root = join(__dirname, "..");
  const runner = join(dir, "bench", "cold-runner.js");
  transpile(join(__dirname, "cold-runner.ts"), runner);
  transpile(join(root, "handlers", "events.ts"), join(dir, "handlers", "events.js"));
  transpile(join(__dirname, "floor.ts"), join(dir, "floor", "index.js"));
  const targets: PreparedTarget[] = [{ name: FLOOR, path: join(dir, "floor", "index.js"), env: {} }];
  for (const fn of functions) {
    const folder = join(dir, "functions", fn.name.replace(/[^A-Za-z0-9]+/g, "-"));
    for (const name of fn.packages ?? []) {
      cpSync(join(root, name), join(folder, name), { recursive: true });
    }
    const path = join(folder, "__index.js");
    mkdirSync(folder, { recursive: true });
    writeFileSync(path, fn.code);
    targets.push({ name: fn.name, path, env: fn.environment });
  }
  return { runner, targets };
}

/** The environment of a cold process: PATH, the SDK's region and credentials from ours, the target's own. */
function coldEnvironment(target: PreparedTarget): Record<string, string | undefined> {
  const aws = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith("AWS_")));
  return { PATH: process.env.PATH, ...aws, ...target.env };
}

/** Times the targets (and the floor, first), written to `dir` (see `prepareTargets`). */
export async function measureColdStarts(dir: string, functions: ColdTarget[], runs: number): Promise<ColdFigure[]> {
  const { runner, targets } = prepareTargets(dir, functions);
  const once = async (target: (typeof targets)[number]): Promise<ColdSample> => {
    const { stdout } = await execFileAsync(process.execPath, [runner, target.path], {
      env: coldEnvironment(target),
      maxBuffer: 16 * 1024 * 1024,
    });
    const sample = JSON.parse(stdout.trimEnd().split("\n").pop() ?? "") as ColdSample;
    // Anything else means the request reached DynamoDB (or failed): not a cold start without I/O.
    if (sample.status !== undefined && ![400, 404, 415].includes(sample.status)) {
      throw new Error(`cold start of ${target.name} answered ${sample.status}, expected 400, 404 or 415`);
    }
    return sample;
  };
  // The unmeasured round: the first process to read the SDK from disk pays for the page cache.
  for (const target of targets) {
    await once(target);
  }
  const samples = new Map<string, ColdSample[]>(targets.map((target) => [target.name, []]));
  for (let round = 0; round < runs; round++) {
    // Rotated each round, so no target always follows the same one.
    for (let index = 0; index < targets.length; index++) {
      const target = targets[(index + round) % targets.length];
      if (target !== undefined) {
        samples.get(target.name)?.push(await once(target));
      }
    }
  }
  const medianOf = (name: string, pick: (sample: ColdSample) => number | undefined) =>
    median((samples.get(name) ?? []).flatMap((sample) => pick(sample) ?? []));
  const minCpu = (name: string) => Math.min(...(samples.get(name) ?? []).map((sample) => sample.initCpuMs));
  return targets.map(({ name }) => ({
    name,
    runs,
    initMs: medianOf(name, (sample) => sample.initMs),
    initCpuMs: medianOf(name, (sample) => sample.initCpuMs),
    firstResponseMs: medianOf(name, (sample) => sample.firstResponseMs),
    rssMb: medianOf(name, (sample) => sample.rssMb),
    minInitCpuMs: minCpu(name),
    cpuRatioToFloor: minCpu(name) / minCpu(FLOOR),
  }));
}

export interface InstructionFigure {
  name: string;
  /** Instructions executed to require the module (load + factory), less an empty process's. */
  instructions: number;
  ratioToFloor: number;
}

/**
 * The work of each cold init, counted rather than timed: the instructions a process executes to
 * require the module, less those of a process that requires nothing, under valgrind's callgrind
 * with V8's JIT off (`--jitless`), which makes the count the same from run to run (within about
 * 1 %) whatever else the machine does. On a busy machine the least CPU time of
 * `measureColdStarts` moves by several per cent between runs of the same files; this does not.
 * It leaves out the JIT's own work. Needs valgrind; about half a minute per module.
 */
export async function countColdInstructions(dir: string, functions: ColdTarget[]): Promise<InstructionFigure[]> {
  const { targets } = prepareTargets(dir, functions);
  const count = async (code: string, env: Record<string, string | undefined>): Promise<number> => {
    const { stderr } = await execFileAsync(
      "valgrind",
      ["--tool=callgrind", "--callgrind-out-file=/dev/null", process.execPath, "--jitless", "-e", code],
      { env, maxBuffer: 16 * 1024 * 1024 },
    );
    const collected = /Collected : ([\d,]+)/.exec(stderr)?.[1];
    if (collected === undefined) {
      throw new Error(`valgrind reported no instruction count:\n${stderr}`);
    }
    return Number(collected.replace(/,/g, ""));
  };
  const empty = await count("0", coldEnvironment({ name: "empty", path: "", env: {} }));
  const counts: { name: string; instructions: number }[] = [];
  for (const target of targets) {
    const required = await count(`require(${JSON.stringify(target.path)})`, coldEnvironment(target));
    counts.push({ name: target.name, instructions: required - empty });
  }
  const floor = counts.find((entry) => entry.name === FLOOR)?.instructions ?? NaN;
  return counts.map((entry) => ({ ...entry, ratioToFloor: entry.instructions / floor }));
}
