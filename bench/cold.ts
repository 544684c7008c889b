/**
 * Cold init: a fresh Node process per sample loads one Lambda module and runs its factory
 * (bench/cold-runner.ts), against the floor (bench/floor.ts) measured in the same run. Targets
 * are taken in turn, round after round, so drift on the machine falls on all of them alike.
 */
import { spawn } from "child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import * as ts from "typescript";
import type { ColdSample } from "./cold-runner";

export type ColdGroup = "floor" | "items-api" | "items-api, SDK bundled" | "naive" | "validation";

export interface ColdTarget {
  name: string;
  group: ColdGroup;
  /** The module the runner requires. */
  modulePath: string;
}

export interface ColdFigures {
  name: string;
  group: ColdGroup;
  runs: number;
  /** Medians over the runs. */
  initMs: number;
  initCpuMs: number;
  firstResponseMs: number | undefined;
  rssMb: number;
  /** initMs / the floor's initMs. */
  ratioToFloor: number;
  /** Every run's initMs, in run order. */
  initSamplesMs: number[];
}

/** What a function's environment holds in AWS (no DYNAMODB_ENDPOINT: the request makes no call). */
const LAMBDA_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  TABLE_NAME: "items-api-bench-items",
  IDEMPOTENCY_TABLE_NAME: "items-api-bench-idempotency",
  CURSOR_SECRET: "items-api-bench-cursor-secret-0123456789",
  CORS_ALLOWED_ORIGINS: "*",
  DYNAMODB_MAX_ATTEMPTS: "3",
  DYNAMODB_REQUEST_TIMEOUT_MS: "2000",
  LOG_LEVEL: "info",
};

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? NaN)
    : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

/** TypeScript to CommonJS JavaScript, one file, no type check (these files import nothing of ours). */
export function transpileTo(source: string, target: string): void {
  const output = ts.transpileModule(readFileSync(source, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  writeFileSync(target, output.outputText);
}

/**
 * Writes the runner, the floor module and each code text to `dir` (inside the project, so the
 * SDK resolves from its node_modules as it does from the runtime's in Lambda).
 */
export function prepareColdModules(
  dir: string,
  functions: { name: string; group: ColdGroup; code?: string; modulePath?: string }[],
): { runner: string; targets: ColdTarget[] } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const runner = join(dir, "runner.js");
  transpileTo(join(__dirname, "cold-runner.ts"), runner);
  const floor = join(dir, "floor", "index.js");
  mkdirSync(join(dir, "floor"));
  transpileTo(join(__dirname, "floor.ts"), floor);
  const targets: ColdTarget[] = [{ name: "floor (SDK + document client)", group: "floor", modulePath: floor }];
  for (const fn of functions) {
    if (fn.modulePath !== undefined) {
      targets.push({ name: fn.name, group: fn.group, modulePath: fn.modulePath });
      continue;
    }
    const folder = join(dir, fn.name.replace(/[^A-Za-z0-9-]+/g, "_"));
    mkdirSync(folder);
    writeFileSync(join(folder, "__index.js"), fn.code ?? "");
    targets.push({ name: fn.name, group: fn.group, modulePath: join(folder, "__index.js") });
  }
  return { runner, targets };
}

function runOnce(runner: string, target: ColdTarget, resultFile: string): Promise<ColdSample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, target.modulePath, resultFile], {
      env: { PATH: process.env.PATH ?? "", ...LAMBDA_ENVIRONMENT },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) {
        reject(new Error(`cold start of ${target.name} exited with ${code}:\n${stderr}`));
        return;
      }
      resolve(JSON.parse(readFileSync(resultFile, "utf8")) as ColdSample);
    });
  });
}

export async function measureColdStarts(runner: string, targets: ColdTarget[], runs: number): Promise<ColdFigures[]> {
  const samples = new Map<ColdTarget, ColdSample[]>(targets.map((target) => [target, []]));
  const resultFile = join(runner, "..", "sample.json");
  // One unmeasured round: the first process to read the SDK from disk pays for the page cache.
  for (const target of targets) {
    await runOnce(runner, target, resultFile);
  }
  for (let round = 0; round < runs; round++) {
    // Rotate the order each round, so no target always follows the same one.
    for (let index = 0; index < targets.length; index++) {
      const target = targets[(index + round) % targets.length];
      if (target === undefined) {
        continue;
      }
      const sample = await runOnce(runner, target, resultFile);
      // Anything else means the request reached DynamoDB (or failed): not a cold start without I/O.
      if (sample.status !== undefined && ![400, 404, 415].includes(sample.status)) {
        throw new Error(`cold start of ${target.name} answered ${sample.status}, expected 400, 404 or 415`);
      }
      samples.get(target)?.push(sample);
    }
  }
  const floorTarget = targets.find((target) => target.group === "floor");
  const floorInit = median((floorTarget && samples.get(floorTarget)?.map((sample) => sample.initMs)) ?? []);
  return targets.map((target) => {
    const own = samples.get(target) ?? [];
    const responses = own.flatMap((sample) => (sample.firstResponseMs === undefined ? [] : [sample.firstResponseMs]));
    const initMs = median(own.map((sample) => sample.initMs));
    return {
      name: target.name,
      group: target.group,
      runs: own.length,
      initMs,
      initCpuMs: median(own.map((sample) => sample.initCpuMs)),
      firstResponseMs: responses.length > 0 ? median(responses) : undefined,
      rssMb: median(own.map((sample) => sample.rssMb)),
      ratioToFloor: initMs / floorInit,
      initSamplesMs: own.map((sample) => sample.initMs),
    };
  });
}

/** Copies an archive's package folders from the project (where CallbackFunction took them from). */
export function copyPackages(paths: readonly string[], projectRoot: string, dir: string): void {
  for (const path of paths) {
    cpSync(join(projectRoot, path), join(dir, path), { recursive: true });
  }
}
