/**
 * `npm run test:coverage`: runs mocha with V8 coverage on, then reports line and branch coverage of
 * index.ts, handlers/, infra/ and local/ and fails under the thresholds below.
 *
 *   coverage.ts [mocha arguments]   run mocha, then print the summary and check the thresholds
 *   coverage.ts --report            print the last run's coverage per file (`npm run coverage`)
 *
 * Two transpilers run the project's TypeScript under test: swc (mocha and the local runtimes)
 * and TypeScript's own emit (the Pulumi program under mocks, as `pulumi up` runs it). V8 counts
 * byte ranges of the JavaScript it ran, and c8 merges the raw counts of every process by file
 * before it maps them back to the source (c8 lib/report.js, `_getMergedProcessCov`), so two emits
 * of one file merge into nonsense (declarations reported as never run). Each emit's counts are
 * kept in their own folder and mapped to the TypeScript source apart (c8's `Report`); the two
 * maps are then merged at source level, where istanbul-lib-coverage matches counters by their
 * location in the source (`FileCoverage.merge`).
 */
import { spawnSync } from "child_process";
import { existsSync, mkdirSync, rmSync } from "fs";
import { CoverageMap, createCoverageMap } from "istanbul-lib-coverage";
import { createContext } from "istanbul-lib-report";
import { ReportType, create } from "istanbul-reports";
import { join } from "path";
import { PROJECT_ROOT, TYPESCRIPT_EMIT_COVERAGE_VARIABLE, mochaBin } from "./mocha-run";

const REPORTS_DIR = join(PROJECT_ROOT, "coverage");
/** Raw V8 coverage of the processes that run swc's emit, and of those that run TypeScript's. */
const SWC_DIR = join(REPORTS_DIR, "swc");
const TYPESCRIPT_DIR = join(REPORTS_DIR, "typescript");
const INCLUDE = ["index.ts", "handlers/**", "infra/**", "local/**"];
/** Percentages under which `npm test` fails, set a little under the measured figures. */
const THRESHOLDS = { lines: 96, branches: 89 } as const;

interface C8Report {
  getCoverageMapFromAllCoverageFiles(): Promise<CoverageMap>;
}
// c8 ships no type declarations; this is the part of its public `Report` used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Report } = require("c8") as { Report: (options: Record<string, unknown>) => C8Report };

async function coverageMap(): Promise<CoverageMap> {
  const merged = createCoverageMap({});
  for (const tempDirectory of [SWC_DIR, TYPESCRIPT_DIR].filter((dir) => existsSync(dir))) {
    // The defaults of c8's own command line (c8 lib/parse-args.js), apart from include/exclude.
    const report = Report({
      include: INCLUDE,
      exclude: [],
      excludeNodeModules: true,
      omitRelative: true,
      resolve: "",
      reporter: [],
      tempDirectory,
      src: [PROJECT_ROOT],
    });
    merged.merge(await report.getCoverageMapFromAllCoverageFiles());
  }
  return merged;
}

function print(map: CoverageMap, reporter: ReportType): void {
  const context = createContext({ dir: REPORTS_DIR, coverageMap: map });
  create(reporter, { maxCols: process.stdout.columns || 100 }).execute(context);
}

/** The thresholds missed, as messages; empty when coverage is enough. */
function missedThresholds(map: CoverageMap): string[] {
  const summary = map.getCoverageSummary();
  return Object.entries(THRESHOLDS).flatMap(([key, threshold]) => {
    const pct = summary[key as keyof typeof THRESHOLDS].pct;
    return pct < threshold ? [`coverage for ${key} (${pct}%) does not meet the threshold (${threshold}%)`] : [];
  });
}

async function main(): Promise<void> {
  if (process.argv[2] === "--report") {
    print(await coverageMap(), "text");
    return;
  }
  rmSync(REPORTS_DIR, { recursive: true, force: true });
  mkdirSync(SWC_DIR, { recursive: true });
  mkdirSync(TYPESCRIPT_DIR, { recursive: true });
  const mocha = spawnSync(process.execPath, [mochaBin(), ...process.argv.slice(2)], {
    cwd: PROJECT_ROOT,
    stdio: "inherit",
    env: { ...process.env, NODE_V8_COVERAGE: SWC_DIR, [TYPESCRIPT_EMIT_COVERAGE_VARIABLE]: TYPESCRIPT_DIR },
  });
  if (mocha.status !== 0) {
    process.exitCode = mocha.status ?? 1;
    return;
  }
  const map = await coverageMap();
  print(map, "text-summary");
  // A subset of the suites (mocha options given, e.g. --grep) cannot reach the whole suite's coverage.
  const subset = process.argv.length > 2;
  const missed = subset ? [] : missedThresholds(map);
  missed.forEach((message) => console.error(`ERROR: ${message}`));
  process.exitCode = missed.length === 0 ? 0 : 1;
}

if (require.main === module) {
  void main();
}
