/**
 * `npm run bench [-- --short] [--instructions]`: the performance goals, measured in one run. Prints
 * tables and one PASS/FAIL line per budget. Every budget compares with something measured in the
 * same run (or is a size or a count), never with an absolute timing; bench/README.md says why each
 * is the guard. `--short` (CI) takes fewer samples and leaves out the program run with
 * `bundleAwsSdk`; `--instructions` also counts each cold init's instructions under valgrind.
 *
 * Exits non-zero only when the bench itself fails; a FAIL line is a finding, not a crash.
 */
import "../test/support/setup";
import { Console } from "console";
import { cpus, loadavg } from "os";
import { join } from "path";
import { performance } from "perf_hooks";
import { DEV_OPTIONS_RUN, ProgramSnapshot, programSnapshot, stackSnapshot } from "../test/support/program-snapshot";
import { SerializedFunction, serializedFunctions } from "../test/support/serialized-handlers";
import { ArchiveSize, archiveSize } from "./archives";
import { countCalls } from "./calls";
import { ColdTarget, FLOOR, countColdInstructions, measureColdStarts } from "./cold";
import { LoadOptions, measureLoad } from "./load";
import { measureSessions } from "./sessions";
import { measureGetShares } from "./shares";

const BUDGETS = {
  archiveUnzippedBytes: 64 * 1024,
  coldInitToFloor: 1.05,
  callsPerOperation: 1,
  /** The runtime and gateway's share of one get, against the SDK client's share of it. */
  runtimeShareToSdkShare: 1,
  /** Get throughput through the local runtime, the design's wiring against the naive one. */
  throughputToNaive: 1.5,
};

const MODES = {
  full: {
    coldRuns: 20,
    getIterations: 3000,
    bundled: true,
    sessionUsers: 30,
    load: { connections: 10, slices: 10, sliceSeconds: 0.5, warmupSeconds: 2, seedItems: 200 },
  },
  short: {
    coldRuns: 10,
    getIterations: 1000,
    bundled: false,
    sessionUsers: 5,
    load: { connections: 10, slices: 4, sliceSeconds: 0.25, warmupSeconds: 1, seedItems: 30 },
  },
} satisfies Record<
  string,
  { coldRuns: number; getIterations: number; bundled: boolean; sessionUsers: number; load: LoadOptions }
>;

const out = new Console(process.stdout);
const started = performance.now();
const progress = (message: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)} s] ${message}\n`);
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const fixed = (value: number, digits = 1) => Number(value.toFixed(digits));

async function main(): Promise<void> {
  const short = process.argv.includes("--short");
  const mode = short ? MODES.short : MODES.full;
  const startLoad = loadavg()[0] ?? NaN;
  const budgets: { name: string; pass: boolean; detail: string }[] = [];
  const budget = (name: string, pass: boolean, detail: string) => budgets.push({ name, pass, detail });

  progress("the Pulumi program under mocks (dev stack)");
  const snapshot = await stackSnapshot("dev");
  const functions = Object.values(serializedFunctions(snapshot));
  const archives: ({ function: string } & ArchiveSize)[] = [];
  const coldTargets: ColdTarget[] = [];
  /** A function's archive size and cold target, from the program's snapshot. */
  const add = (program: ProgramSnapshot, fn: SerializedFunction, name: string) => {
    const archive = program.archives[fn.resourceName];
    const resource = program.resources.find((candidate) => candidate.name === fn.resourceName);
    const environment = (resource?.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables;
    if (archive === undefined || environment === undefined) {
      throw new Error(`no archive or environment for ${name}`);
    }
    archives.push({ function: name, ...archiveSize(archive) });
    const packages = archive.entries.filter((entry) => entry.kind === "directory").map((entry) => entry.path);
    coldTargets.push({ name, code: fn.code, environment, packages });
  };
  for (const fn of functions) {
    add(snapshot, fn, fn.operationId);
  }
  for (const row of archives) {
    budget(
      `archive ${row.function} <= ${kib(BUDGETS.archiveUnzippedBytes)} unzipped`,
      row.unzippedBytes <= BUDGETS.archiveUnzippedBytes,
      `${kib(row.unzippedBytes)} (${kib(row.zippedBytes)} zipped), ${row.files} file(s)`,
    );
  }
  if (mode.bundled) {
    progress("the Pulumi program with bundleAwsSdk: true (printed, not budgeted)");
    const bundled = await programSnapshot(DEV_OPTIONS_RUN);
    const getItem = serializedFunctions(bundled).getItem;
    if (getItem === undefined) {
      throw new Error(`no getItem with bundleAwsSdk: ${bundled.error ?? "not registered"}`);
    }
    add(bundled, getItem, "getItem, bundleAwsSdk: true");
  }

  progress(`cold init: ${coldTargets.length + 1} modules x ${mode.coldRuns} runs, a fresh process each`);
  const cold = await measureColdStarts(join(__dirname, "out", "cold"), coldTargets, mode.coldRuns);
  const floor = cold.find((figure) => figure.name === FLOOR);
  for (const figure of cold.filter((candidate) => functions.some((fn) => fn.operationId === candidate.name))) {
    budget(
      `cold init ${figure.name} <= ${BUDGETS.coldInitToFloor}x the floor (least CPU time)`,
      figure.cpuRatioToFloor <= BUDGETS.coldInitToFloor,
      `${figure.minInitCpuMs.toFixed(1)} ms vs ${floor?.minInitCpuMs.toFixed(1)} ms = ${figure.cpuRatioToFloor.toFixed(2)}x ` +
        `(least of ${figure.runs}; median wall ${figure.initMs.toFixed(1)} vs ${floor?.initMs.toFixed(1)} ms)`,
    );
  }

  const instructions = process.argv.includes("--instructions")
    ? (progress(`cold init instructions under valgrind: ${coldTargets.length + 1} modules, one run each`),
      await countColdInstructions(join(__dirname, "out", "cold"), coldTargets))
    : [];
  for (const figure of instructions.filter((candidate) => functions.some((fn) => fn.operationId === candidate.name))) {
    budget(
      `cold init ${figure.name} <= ${BUDGETS.coldInitToFloor}x the floor (instructions, JIT off)`,
      figure.ratioToFloor <= BUDGETS.coldInitToFloor,
      `${(figure.instructions / 1e6).toFixed(1)} M vs ${((instructions[0]?.instructions ?? NaN) / 1e6).toFixed(1)} M = ${figure.ratioToFloor.toFixed(3)}x`,
    );
  }

  progress("DynamoDB calls per operation");
  const calls = await countCalls();
  for (const count of calls.filter((candidate) => candidate.budgeted)) {
    budget(
      `DynamoDB calls ${count.operation} = ${BUDGETS.callsPerOperation}`,
      count.commands.length === BUDGETS.callsPerOperation,
      `${count.commands.length} (${count.commands.join(", ")}), status ${count.status}`,
    );
  }

  progress(`owner sessions: ${mode.sessionUsers} users, a first and a warm request each`);
  const sessions = await measureSessions(mode.sessionUsers);
  for (const cost of sessions) {
    const returning = cost.request === "returning user";
    const expected = { sts: returning ? 0 : 1, dynamoDb: 1 };
    budget(
      `${cost.request}: ${expected.sts} STS call${expected.sts === 1 ? "" : "s"} and ${expected.dynamoDb} DynamoDB call per request`,
      cost.stsCalls === expected.sts && cost.dynamoDbCalls === expected.dynamoDb,
      `${cost.stsCalls} STS, ${cost.dynamoDbCalls} DynamoDB over ${cost.requests} requests, p50 ${cost.p50Ms.toFixed(1)} ms`,
    );
  }

  progress(`one get at a time, layer by layer (${mode.getIterations} per step)`);
  const get = await measureGetShares(mode.getIterations);
  const sdkShare = get.sdk.cpuUs - get.engine.cpuUs;
  const runtimeShare = get.runtime.cpuUs - get.handler.cpuUs;
  budget(
    `local runtime's share of a get <= ${BUDGETS.runtimeShareToSdkShare}x the SDK client's share (CPU)`,
    runtimeShare <= BUDGETS.runtimeShareToSdkShare * sdkShare,
    `${runtimeShare.toFixed(0)} us vs ${sdkShare.toFixed(0)} us = ${(runtimeShare / sdkShare).toFixed(2)}x, one get at a time`,
  );

  progress("local load: the design's wiring and the naive one, in turns");
  const load = await measureLoad(mode.load);
  const loadOf = (wiring: string, operation = "get") =>
    load.find((candidate) => candidate.wiring === wiring && candidate.operation === operation);
  const toNaive = (loadOf("items-api")?.requestsPerSecond ?? NaN) / (loadOf("naive")?.requestsPerSecond ?? NaN);
  budget(
    `local load, get: req/s >= ${BUDGETS.throughputToNaive}x the naive wiring`,
    toNaive >= BUDGETS.throughputToNaive,
    `${loadOf("items-api")?.requestsPerSecond.toFixed(0)} vs ${loadOf("naive")?.requestsPerSecond.toFixed(0)} req/s = ` +
      `${toNaive.toFixed(2)}x at ${mode.load.connections} connections`,
  );

  const [cpu] = cpus();
  out.log(
    `Items API bench (${short ? "short" : "full"}): ${cpus().length} CPUs, ${cpu?.model.trim()}, Node ${process.version}, ` +
      `${process.platform} ${process.arch}, load average ${startLoad.toFixed(1)} -> ${(loadavg()[0] ?? NaN).toFixed(1)}, ` +
      `${new Date().toISOString()}, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
  out.log("Lambda archives (as CallbackFunction builds them; zipped with fflate)");
  out.table(
    archives.map((row) => ({ ...row, unzipped: kib(row.unzippedBytes), zipped: kib(row.zippedBytes) })),
    ["function", "files", "unzipped", "zipped"],
  );
  out.log(
    "Cold init: load + factory in a fresh Node process, then one request without I/O (medians, and the least CPU)",
  );
  out.table(
    cold.map((figure) => ({
      module: figure.name,
      "init ms": fixed(figure.initMs),
      "init CPU ms": fixed(figure.initCpuMs),
      "least CPU ms": fixed(figure.minInitCpuMs),
      "least CPU x floor": fixed(figure.cpuRatioToFloor, 2),
      "1st response ms": fixed(figure.firstResponseMs),
      "RSS MB": fixed(figure.rssMb, 0),
    })),
  );
  out.log(
    "Owner sessions: a list page through the local runtime with a data access role, STS on loopback (times are local; see bench/README.md for AWS)",
  );
  out.table(
    sessions.map((cost) => ({
      request: cost.request,
      requests: cost.requests,
      "STS calls": cost.stsCalls,
      "DynamoDB calls": cost.dynamoDbCalls,
      "p50 ms": fixed(cost.p50Ms),
    })),
  );
  if (instructions.length > 0) {
    out.log("Cold init work: instructions to require each module, less an empty process's (callgrind, --jitless)");
    out.table(
      instructions.map((figure) => ({
        module: figure.name,
        "M instructions": fixed(figure.instructions / 1e6),
        "x floor": fixed(figure.ratioToFloor, 3),
      })),
    );
  }
  out.log("DynamoDB calls per operation (through the local runtime, counted on the wire)");
  out.table(
    calls.map(({ operation, status, commands }) => ({
      operation,
      status,
      calls: commands.length,
      commands: commands.join(", "),
    })),
  );
  out.log("One get at a time, in one process (each step contains the one above; CPU: this process, all threads)");
  const steps = [
    ["engine: the raw GetItem", get.engine],
    ["+ SDK document client", get.sdk],
    ["+ getItem handler", get.handler],
    ["+ local runtime over HTTP", get.runtime],
  ] as const;
  out.table(
    steps.map(([step, figure], index) => ({
      step,
      "wall us (median)": fixed(figure.wallUs, 0),
      "CPU us": fixed(figure.cpuUs, 0),
      "CPU share us": fixed(figure.cpuUs - (steps[index - 1]?.[1].cpuUs ?? 0), 0),
    })),
  );
  out.log(
    `Local load (autocannon, ${mode.load.connections} connections, ${mode.load.slices} x ${mode.load.sliceSeconds} s per wiring in turns, after ${mode.load.warmupSeconds} s warm-up)`,
  );
  out.table(
    load.map((row) => ({
      wiring: row.wiring,
      operation: row.operation,
      "req/s": fixed(row.requestsPerSecond, 0),
      "p50 ms": fixed(row.p50Ms),
      "p99 ms": fixed(row.p99Ms),
      errors: row.errors,
      "CPU ms per request": fixed(row.cpuMsPerRequest, 2),
      "req/s x naive":
        row.wiring === "naive"
          ? ""
          : fixed(row.requestsPerSecond / (loadOf("naive", row.operation)?.requestsPerSecond ?? NaN), 2),
    })),
  );
  out.log("Budgets");
  for (const { name, pass, detail } of budgets) {
    out.log(`  ${pass ? "PASS" : "FAIL"}  ${name}: ${detail}`);
  }
  const failed = budgets.filter((candidate) => !candidate.pass).length;
  out.log(`\n${budgets.length - failed} of ${budgets.length} budgets pass`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
