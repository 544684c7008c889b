/** The shape of bench/results.json, and the budgets evaluated on it (not named results.ts: `require("./results")` would load the JSON). */
import type { BreakdownStep } from "./breakdown";
import type { CallCount } from "./calls";
import type { ColdFigures } from "./cold";
import type { LoadOptions, OperationLoad } from "./load";
import type { ValidationOption } from "./validation";

export type Design = "items-api" | "items-api, SDK bundled" | "naive";

export interface ArchiveRow {
  design: Design;
  operationId: string;
  /** Entries as CallbackFunction lists them (a package folder is one entry). */
  entries: number;
  files: number;
  unzippedBytes: number;
  zippedBytes: number;
  nativeAddons: number;
}

export interface RuntimeLoad {
  variant: string;
  operations: OperationLoad[];
}

export interface LambdaSizing {
  memoryMb: number;
  /** Lambda's CPU share at this memory: 1 vCPU at 1,769 MB, proportional below. */
  vcpu: number;
  /** Init CPU of getItem (measured) stretched to this share. */
  estimatedInitMs: number;
  /** Handler + SDK CPU of one get (measured, engine excluded) stretched to this share. */
  estimatedGetComputeMs: number;
  /** Median RSS after init and a first response, against the memory size. */
  rssShare: number;
}

export interface Budget {
  name: string;
  pass: boolean;
  detail: string;
  /** Where the time goes, from the same run, when a figure needs explaining. */
  note?: string;
}

export interface BenchResults {
  generatedAt: string;
  mode: "full" | "short";
  command: string;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    memoryGiB: number;
    /** 1-minute load average when the run started and ended: other work on the machine skews timings. */
    loadAverage: { start: number; end: number };
  };
  durationSeconds: number;
  archives: ArchiveRow[];
  cold: { runs: number; figures: ColdFigures[] };
  load: { options: LoadOptions; runtimes: RuntimeLoad[] };
  breakdown: BreakdownStep[];
  calls: CallCount[];
  validation: ValidationOption[];
  lambdaSizing: LambdaSizing[];
  budgets: Budget[];
}

export const BUDGETS = {
  archiveUnzippedBytes: 64 * 1024,
  coldInitRatio: 1.25,
  getP50Ratio: 1.3,
  callsPerOperation: 1,
} as const;

export function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function evaluateBudgets(results: Omit<BenchResults, "budgets">): Budget[] {
  const budgets: Budget[] = [];
  for (const row of results.archives.filter((candidate) => candidate.design === "items-api")) {
    budgets.push({
      name: `archive ${row.operationId} <= 64 KiB unzipped (runtime's SDK)`,
      pass: row.unzippedBytes <= BUDGETS.archiveUnzippedBytes,
      detail: `${kib(row.unzippedBytes)} unzipped, ${kib(row.zippedBytes)} zipped, ${row.files} file(s)`,
    });
  }
  const floor = results.cold.figures.find((figure) => figure.group === "floor");
  for (const figure of results.cold.figures.filter((candidate) => candidate.group === "items-api")) {
    budgets.push({
      name: `cold init ${figure.name} <= ${BUDGETS.coldInitRatio}x floor`,
      pass: figure.ratioToFloor <= BUDGETS.coldInitRatio,
      detail: `${figure.initMs.toFixed(1)} ms vs floor ${floor?.initMs.toFixed(1)} ms = ${figure.ratioToFloor.toFixed(2)}x (median of ${figure.runs})`,
    });
  }
  const get = results.load.runtimes[0]?.operations.find((operation) => operation.operation === "get");
  if (get !== undefined) {
    budgets.push({
      name: `local runtime p50 get <= ${BUDGETS.getP50Ratio}x direct engine call`,
      pass: get.p50Ratio <= BUDGETS.getP50Ratio,
      detail: `${get.api.p50Ms.toFixed(2)} ms vs ${get.direct.p50Ms.toFixed(2)} ms = ${get.p50Ratio.toFixed(2)}x at ${results.load.options.connections} connections`,
      note: getBreakdownNote(results),
    });
  }
  for (const count of results.calls.filter((candidate) => candidate.design === "items-api" && candidate.budgeted)) {
    budgets.push({
      name: `DynamoDB calls ${count.operation} = ${BUDGETS.callsPerOperation}`,
      pass: count.calls === BUDGETS.callsPerOperation,
      detail: `${count.calls} (${count.commands.join(", ")}), status ${count.status}`,
    });
  }
  return budgets;
}

/** One get at a time: what each layer adds to the engine's own time (medians, microseconds). */
function getBreakdownNote(results: Omit<BenchResults, "budgets">): string | undefined {
  const wall = (prefix: string) => results.breakdown.find((step) => step.step.startsWith(prefix))?.wallUs;
  const engine = wall("engine");
  const sdk = wall("+ SDK");
  const handler = wall("+ handler, source");
  const runtime = wall("+ local runtime");
  const handlerAlone = wall("handler alone, no I/O (404), source");
  if ([engine, sdk, handler, runtime, handlerAlone].some((value) => value === undefined)) {
    return undefined;
  }
  const us = (value: number | undefined) => `${(value ?? 0).toFixed(0)} us`;
  return (
    `one get at a time: engine ${us(engine)}; the SDK client adds ${us((sdk ?? 0) - (engine ?? 0))}, ` +
    `the handler ${us((handler ?? 0) - (sdk ?? 0))} (its code alone, no I/O: ${us(handlerAlone)}), ` +
    `the runtime's HTTP server and API Gateway emulation ${us((runtime ?? 0) - (handler ?? 0))}: ` +
    `${((runtime ?? 0) / (engine ?? 1)).toFixed(1)}x the engine. Under load the runtime process runs all of it ` +
    `and the engine on one event loop, so the ratio approaches the CPU ratio.`
  );
}
