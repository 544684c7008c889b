/**
 * `npm run bench [-- --short]`: archives, cold init, load through the local runtime, DynamoDB
 * calls per operation, request validation options and Lambda sizing, for the design and for a
 * naive baseline, all measured in this run. Prints a table with PASS/FAIL budget lines and writes
 * bench/results.json and bench/results.svg (with --short, under bench/out/, so a quick run never
 * replaces the committed figures).
 *
 * Exits non-zero only when the bench itself fails; a FAIL budget line is a finding, not a crash.
 */
import { cpus, loadavg, totalmem } from "os";
import { mkdirSync, writeFileSync } from "fs";
import { join, relative } from "path";
import { performance } from "perf_hooks";
import * as prettier from "prettier";
import { programSnapshot, stackSnapshot } from "../test/support/program-snapshot";
import { serializedFunctions } from "../test/support/serialized-handlers";
import { BUNDLED_SDK_RUN, archiveFiles, archiveRow, buildNaiveArchives } from "./archives";
import { measureBreakdown } from "./breakdown";
import { countDynamoDbCalls } from "./calls";
import { ColdGroup, copyPackages, measureColdStarts, prepareColdModules } from "./cold";
import { LoadOptions, RuntimeVariant, measureRuntimeLoad } from "./load";
import { formatReport, renderChart } from "./report";
import { ArchiveRow, BenchResults, LambdaSizing, RuntimeLoad, evaluateBudgets } from "./budgets";
import { measureValidationOptions } from "./validation";

const PROJECT_ROOT = join(__dirname, "..");
const OUT = join(__dirname, "out");
/** Functions the naive baseline and the SDK-bundled archive are built for (those under load). */
const COMPARED = ["getItem", "listItems", "createItem"];

interface Mode {
  name: "full" | "short";
  coldRuns: number;
  load: LoadOptions;
  breakdownIterations: number;
  /** Also: the program with bundleAwsSdk, serialized handlers under load, every naive function cold. */
  everything: boolean;
}

const FULL: Mode = {
  name: "full",
  coldRuns: 20,
  load: { connections: 10, durationSeconds: 5, warmupSeconds: 1, seedItems: 200 },
  breakdownIterations: 2000,
  everything: true,
};

const SHORT: Mode = {
  name: "short",
  coldRuns: 10,
  load: { connections: 10, durationSeconds: 1, warmupSeconds: 0.25, seedItems: 30 },
  breakdownIterations: 150,
  everything: false,
};

let started = 0;
function progress(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${message}\n`);
}

function machine(startLoad: number): BenchResults["machine"] {
  const model = cpus()[0]?.model.trim() ?? "unknown";
  return {
    loadAverage: { start: startLoad, end: loadavg()[0] ?? NaN },
    cpus: cpus().length,
    cpuModel: model,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** AWS's documented CPU scaling: one vCPU at 1,769 MB, proportional below. */
const MB_PER_VCPU = 1769;

function lambdaSizing(initCpuMs: number, getCpuUs: number, rssMb: number): LambdaSizing[] {
  return [128, 256, 512, 1024, 1769].map((memoryMb) => {
    const vcpu = Math.min(1, memoryMb / MB_PER_VCPU);
    return {
      memoryMb,
      vcpu,
      estimatedInitMs: initCpuMs / vcpu,
      estimatedGetComputeMs: getCpuUs / 1000 / vcpu,
      rssShare: rssMb / memoryMb,
    };
  });
}

async function main(): Promise<void> {
  const mode = process.argv.includes("--short") ? SHORT : FULL;
  started = performance.now();
  const startLoad = loadavg()[0] ?? NaN;
  process.env.AWS_REGION ??= "us-east-1";
  process.env.AWS_ACCESS_KEY_ID ??= "bench";
  process.env.AWS_SECRET_ACCESS_KEY ??= "bench";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  mkdirSync(OUT, { recursive: true });

  progress(`${mode.name} mode: the Pulumi program under mocks${mode.everything ? " (twice)" : ""}, the naive baseline`);
  const [snapshot, bundled, naive] = await Promise.all([
    stackSnapshot("dev"),
    mode.everything ? programSnapshot(BUNDLED_SDK_RUN) : Promise.resolve(undefined),
    buildNaiveArchives(PROJECT_ROOT, OUT),
  ]);
  if (bundled?.error !== undefined) {
    throw new Error(`the program failed with bundleAwsSdk: ${bundled.error}`);
  }
  const functions = Object.values(serializedFunctions(snapshot));
  const archives: ArchiveRow[] = functions.map((fn) => {
    const archive = snapshot.archives[fn.resourceName];
    if (archive === undefined) {
      throw new Error(`no archive for ${fn.operationId}`);
    }
    return archiveRow("items-api", fn.operationId, archive.entries.length, archiveFiles(PROJECT_ROOT, archive));
  });
  const bundledFunctions = bundled === undefined ? [] : Object.values(serializedFunctions(bundled));
  for (const fn of bundledFunctions.filter((candidate) => COMPARED.includes(candidate.operationId))) {
    const archive = bundled?.archives[fn.resourceName];
    if (archive !== undefined) {
      archives.push(
        archiveRow(
          "items-api, SDK bundled",
          fn.operationId,
          archive.entries.length,
          archiveFiles(PROJECT_ROOT, archive),
        ),
      );
    }
  }
  for (const fn of naive) {
    archives.push({ design: "naive", ...fn });
  }

  progress("request validation options");
  const coldDir = join(OUT, "cold");
  const coldFunctions: { name: string; group: ColdGroup; code?: string; modulePath?: string }[] = functions.map(
    (fn) => ({ name: fn.operationId, group: "items-api", code: fn.code }),
  );
  const { runner, targets } = prepareColdModules(coldDir, coldFunctions);
  const validation = measureValidationOptions(PROJECT_ROOT, coldDir, mode.everything ? 50000 : 5000);
  targets.push(...validation.coldTargets);
  if (mode.everything) {
    const bundledGet = bundledFunctions.find((fn) => fn.operationId === "getItem");
    const bundledArchive = bundledGet === undefined ? undefined : bundled?.archives[bundledGet.resourceName];
    if (bundledGet !== undefined && bundledArchive !== undefined) {
      const dir = join(coldDir, "getItem-sdk-bundled");
      copyPackages(
        bundledArchive.entries.filter((entry) => entry.kind === "directory").map((entry) => entry.path),
        PROJECT_ROOT,
        dir,
      );
      writeFileSync(join(dir, "__index.js"), bundledGet.code);
      targets.push({ name: "getItem", group: "items-api, SDK bundled", modulePath: join(dir, "__index.js") });
    }
  }
  for (const fn of naive.filter((candidate) => mode.everything || candidate.operationId === "getItem")) {
    targets.push({ name: fn.operationId, group: "naive", modulePath: fn.indexPath });
  }
  progress(`cold init: ${targets.length} modules x ${mode.coldRuns} runs, one fresh process each`);
  const cold = await measureColdStarts(runner, targets, mode.coldRuns);

  progress("DynamoDB calls per operation");
  const calls = await countDynamoDbCalls();

  progress("one get at a time, layer by layer");
  const breakdown = await measureBreakdown(
    Object.fromEntries(functions.map((fn) => [fn.operationId, fn.code])),
    mode.breakdownIterations,
  );

  const modulesFile = (name: string, paths: Record<string, string>) => {
    const file = join(OUT, `${name}-modules.json`);
    writeFileSync(file, JSON.stringify(paths));
    return file;
  };
  const variants: RuntimeVariant[] = [{ name: "items-api", args: ["source"] }];
  if (mode.everything) {
    variants.push({
      name: "items-api (serialized)",
      args: [
        "modules",
        modulesFile(
          "serialized",
          Object.fromEntries(
            targets.filter((target) => target.group === "items-api").map((target) => [target.name, target.modulePath]),
          ),
        ),
      ],
    });
  }
  variants.push({
    name: "naive",
    args: ["modules", modulesFile("naive", Object.fromEntries(naive.map((fn) => [fn.operationId, fn.indexPath])))],
  });
  const runtimes: RuntimeLoad[] = [];
  for (const variant of variants) {
    progress(`load through the local runtime: ${variant.name}`);
    runtimes.push({ variant: variant.name, operations: await measureRuntimeLoad(variant, mode.load) });
  }

  const getCold = cold.find((figure) => figure.group === "items-api" && figure.name === "getItem");
  const engineStep = breakdown.find((step) => step.step.startsWith("engine"));
  const handlerStep = breakdown.find((step) => step.step.includes("handler, serialized"));
  const partial: Omit<BenchResults, "budgets"> = {
    generatedAt: new Date().toISOString(),
    mode: mode.name,
    command: mode.name === "full" ? "npm run bench" : "npm run bench -- --short",
    machine: machine(startLoad),
    durationSeconds: (performance.now() - started) / 1000,
    archives,
    cold: { runs: mode.coldRuns, figures: cold },
    load: { options: mode.load, runtimes },
    breakdown,
    calls,
    validation: validation.options,
    lambdaSizing: lambdaSizing(
      getCold?.initCpuMs ?? NaN,
      (handlerStep?.cpuUs ?? NaN) - (engineStep?.cpuUs ?? NaN),
      getCold?.rssMb ?? NaN,
    ),
  };
  const results: BenchResults = { ...partial, budgets: evaluateBudgets(partial) };
  const target = mode.everything ? __dirname : OUT;
  // Formatted as the repository's prettier check expects, so a committed run passes `npm run lint`.
  const resultsFile = join(target, "results.json");
  const prettierOptions = (await prettier.resolveConfig(resultsFile)) ?? {};
  writeFileSync(
    resultsFile,
    // Paths relative to the project, so the committed file names no particular machine.
    await prettier.format(
      JSON.stringify(results, (key, value: unknown) =>
        key === "indexPath" && typeof value === "string" ? relative(PROJECT_ROOT, value) : value,
      ),
      { ...prettierOptions, filepath: resultsFile },
    ),
  );
  writeFileSync(join(target, "results.svg"), renderChart(results));
  process.stdout.write(formatReport(results));
  const failed = results.budgets.filter((budget) => !budget.pass);
  process.stdout.write(
    `\n${failed.length === 0 ? "All budgets PASS" : `${failed.length} budget(s) FAIL (see the FAIL lines above and README, Performance)`}; ` +
      `wrote ${join(target, "results.json")} and results.svg\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
