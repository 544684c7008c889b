/** The printed table and the chart (bench/results.svg), both from bench/results.json's data. */
import { BenchResults, kib } from "./budgets";

function table(headers: string[], rows: (string | number)[][], align: ("l" | "r")[]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return cells
    .map((row, index) => {
      const line = row
        .map((cell, column) =>
          align[column] === "r" ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
        )
        .join("  ")
        .trimEnd();
      return index === 0 ? `  ${line}\n  ${"-".repeat(line.length)}` : `  ${line}`;
    })
    .join("\n");
}

const ms = (value: number | undefined, digits = 1) => (value === undefined ? "-" : value.toFixed(digits));

export function formatReport(results: BenchResults): string {
  const { machine } = results;
  const sections: string[] = [];
  sections.push(
    `Items API bench (${results.mode}): ${machine.cpus} CPUs, ${machine.cpuModel}, Node ${machine.node}, ` +
      `${machine.platform}, load average ${machine.loadAverage.start.toFixed(1)} -> ${machine.loadAverage.end.toFixed(1)}, ` +
      `${results.generatedAt}, ${results.durationSeconds.toFixed(0)} s`,
  );

  sections.push(
    "Lambda archives (as CallbackFunction builds them; zipped = deflated zip)\n" +
      table(
        ["design", "function", "entries", "files", "unzipped", "zipped", ".node"],
        results.archives.map((row) => [
          row.design,
          row.operationId,
          row.entries,
          row.files,
          kib(row.unzippedBytes),
          kib(row.zippedBytes),
          row.nativeAddons,
        ]),
        ["l", "l", "r", "r", "r", "r", "r"],
      ),
  );

  sections.push(
    `Cold init (fresh Node process: load + factory; median of ${results.cold.runs} runs)\n` +
      table(
        ["group", "module", "init ms", "x floor", "init CPU ms", "1st response ms", "RSS MB"],
        results.cold.figures.map((figure) => [
          figure.group,
          figure.name,
          ms(figure.initMs),
          figure.ratioToFloor.toFixed(2),
          ms(figure.initCpuMs),
          ms(figure.firstResponseMs),
          ms(figure.rssMb, 0),
        ]),
        ["l", "l", "r", "r", "r", "r", "r"],
      ),
  );

  const load = results.load.options;
  sections.push(
    `Load (autocannon, ${load.connections} connections, ${load.durationSeconds} s after ${load.warmupSeconds} s warm-up; ` +
      `direct = the handler's own DynamoDB request replayed to the same engine)\n` +
      table(
        ["runtime", "operation", "path", "req/s", "p50 ms", "p99 ms", "errors", "p50 x direct", "req/s direct/api"],
        results.load.runtimes.flatMap((runtime) =>
          runtime.operations.flatMap((operation) => [
            [
              runtime.variant,
              operation.operation,
              "local runtime",
              operation.api.requestsPerSecond.toFixed(0),
              ms(operation.api.p50Ms, 2),
              ms(operation.api.p99Ms, 2),
              operation.api.errors,
              operation.p50Ratio.toFixed(2),
              operation.throughputRatio.toFixed(2),
            ],
            [
              "",
              "",
              "engine direct",
              operation.direct.requestsPerSecond.toFixed(0),
              ms(operation.direct.p50Ms, 2),
              ms(operation.direct.p99Ms, 2),
              operation.direct.errors,
              "",
              "",
            ],
          ]),
        ),
        ["l", "l", "l", "r", "r", "r", "r", "r", "r"],
      ),
  );

  sections.push(
    "One get at a time, in one process (each step contains the one above it)\n" +
      table(
        ["step", "wall us (median)", "CPU us"],
        results.breakdown.map((step) => [step.step, step.wallUs.toFixed(0), step.cpuUs.toFixed(0)]),
        ["l", "r", "r"],
      ),
  );

  sections.push(
    "DynamoDB calls per operation (SDK middleware, commands sent)\n" +
      table(
        ["design", "operation", "status", "calls", "commands"],
        results.calls.map((count) => [
          count.design,
          count.operation,
          count.status,
          count.calls,
          count.commands.join(", "),
        ]),
        ["l", "l", "r", "r", "l"],
      ),
  );

  const coldOf = (module: string | undefined) =>
    results.cold.figures.find((figure) => figure.name === `validation: ${module}`);
  sections.push(
    "Request validation in the Lambdas (cold init of the validator module alone; one NewItem + one ItemPatch)\n" +
      table(
        ["option", "adds unzipped", "adds zipped", "init ms", "per validation us"],
        results.validation.map((option) => [
          option.option,
          kib(option.addedUnzippedBytes),
          kib(option.addedZippedBytes),
          option.coldModule === undefined ? "0 (in __index.js)" : ms(coldOf(option.option)?.initMs),
          option.perValidationUs.toFixed(2),
        ]),
        ["l", "r", "r", "r", "r"],
      ),
  );

  sections.push(
    "Lambda memory (estimate: this machine's core taken as one Lambda vCPU, CPU share = memory / 1,769 MB)\n" +
      table(
        ["memory MB", "vCPU", "getItem init ms", "compute per get ms", "RSS / memory"],
        results.lambdaSizing.map((size) => [
          size.memoryMb,
          size.vcpu.toFixed(2),
          size.estimatedInitMs.toFixed(0),
          size.estimatedGetComputeMs.toFixed(1),
          `${(size.rssShare * 100).toFixed(0)}%`,
        ]),
        ["r", "r", "r", "r", "r"],
      ),
  );

  sections.push(
    "Budgets\n" +
      results.budgets
        .map(
          (budget) =>
            `  ${budget.pass ? "PASS" : "FAIL"}  ${budget.name}: ${budget.detail}` +
            (budget.note === undefined ? "" : `\n        why: ${budget.note}`),
        )
        .join("\n"),
  );
  return sections.join("\n\n") + "\n";
}

// ---- chart ---------------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  floor: "#9e9e9e",
  direct: "#9e9e9e",
  "items-api": "#1f77b4",
  "items-api, SDK bundled": "#6baed6",
  "items-api (serialized)": "#6baed6",
  naive: "#ff7f0e",
  validation: "#8c6bb1",
};

interface Bar {
  label: string;
  value: number;
  color: string;
  text: string;
}

interface Panel {
  title: string;
  bars: Bar[];
  log?: boolean;
  /** Vertical reference lines (budgets). */
  marks?: { value: number; label: string }[];
}

const WIDTH = 1000;
const LABEL_WIDTH = 300;
const PLOT_WIDTH = 470;
const BAR_HEIGHT = 16;
const BAR_GAP = 5;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function panel(spec: Panel, top: number): { svg: string; height: number } {
  const values = [...spec.bars.map((bar) => bar.value), ...(spec.marks ?? []).map((mark) => mark.value)];
  const max = Math.max(...values) * 1.05;
  const min = spec.log ? Math.min(...values) / 2 : 0;
  const x = (value: number) =>
    spec.log
      ? LABEL_WIDTH + (PLOT_WIDTH * (Math.log10(value) - Math.log10(min))) / (Math.log10(max) - Math.log10(min))
      : LABEL_WIDTH + (PLOT_WIDTH * value) / max;
  const parts: string[] = [`<text x="10" y="${top + 18}" class="title">${escape(spec.title)}</text>`];
  const bottom = top + 30 + spec.bars.length * (BAR_HEIGHT + BAR_GAP);
  // Budget lines first, so bars and labels stay readable on top of them.
  for (const mark of spec.marks ?? []) {
    const position = x(mark.value).toFixed(1);
    parts.push(
      `<line x1="${position}" x2="${position}" y1="${top + 26}" y2="${bottom}" class="mark"/>`,
      `<text x="${position}" y="${bottom + 12}" text-anchor="middle" class="mark-label">${escape(mark.label)}</text>`,
    );
  }
  let y = top + 30;
  for (const bar of spec.bars) {
    const width = Math.max(1, x(bar.value) - LABEL_WIDTH);
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 12}" text-anchor="end">${escape(bar.label)}</text>`,
      `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${bar.color}"/>`,
      `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 12}" class="value">${escape(bar.text)}</text>`,
    );
    y += BAR_HEIGHT + BAR_GAP;
  }
  return { svg: parts.join("\n"), height: y - top + 24 };
}

function legend(y: number): string {
  const entries: [string, string][] = [
    ["items-api (the design)", COLORS["items-api"] ?? ""],
    ["items-api, SDK bundled / serialized code", COLORS["items-api, SDK bundled"] ?? ""],
    ["naive baseline", COLORS.naive ?? ""],
    ["floor / engine direct", COLORS.floor ?? ""],
    ["validation options", COLORS.validation ?? ""],
  ];
  let x = 10;
  return entries
    .map(([label, color]) => {
      const item = `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${x + 16}" y="${y}">${escape(label)}</text>`;
      x += 22 + label.length * 6.2;
      return item;
    })
    .join("\n");
}

export function renderChart(results: BenchResults): string {
  const panels: Panel[] = [];
  panels.push({
    title: "Archive per function, unzipped (log scale)",
    log: true,
    bars: results.archives.map((row) => ({
      label: `${row.operationId} (${row.design})`,
      value: row.unzippedBytes,
      color: COLORS[row.design] ?? "#333",
      text: `${kib(row.unzippedBytes)} (${kib(row.zippedBytes)} zipped)`,
    })),
    marks: [{ value: 64 * 1024, label: "budget 64 KiB" }],
  });
  const floor = results.cold.figures.find((figure) => figure.group === "floor");
  panels.push({
    title: `Cold init: load + factory in a fresh process, median of ${results.cold.runs} (ms)`,
    bars: results.cold.figures.map((figure) => ({
      label:
        figure.group === "floor" || figure.group === "validation" ? figure.name : `${figure.name} (${figure.group})`,
      value: figure.initMs,
      color: COLORS[figure.group] ?? "#333",
      text: `${figure.initMs.toFixed(1)} ms, ${figure.ratioToFloor.toFixed(2)}x floor`,
    })),
    marks: floor === undefined ? [] : [{ value: floor.initMs * 1.25, label: "budget 1.25x floor" }],
  });
  const operations = results.load.runtimes[0]?.operations.map((operation) => operation.operation) ?? [];
  const ourGet = results.load.runtimes[0]?.operations.find((operation) => operation.operation === "get");
  panels.push({
    title: `p50 latency at ${results.load.options.connections} connections (ms): local runtime vs the same DynamoDB call direct`,
    bars: operations.flatMap((name) => [
      ...results.load.runtimes.flatMap((runtime) => {
        const operation = runtime.operations.find((candidate) => candidate.operation === name);
        return operation === undefined
          ? []
          : [
              {
                label: `${name}: ${runtime.variant}`,
                value: operation.api.p50Ms,
                color: COLORS[runtime.variant] ?? "#333",
                text: `${operation.api.p50Ms.toFixed(2)} ms, ${operation.p50Ratio.toFixed(2)}x direct`,
              },
            ];
      }),
      ...results.load.runtimes.slice(0, 1).flatMap((runtime) => {
        const operation = runtime.operations.find((candidate) => candidate.operation === name);
        return operation === undefined
          ? []
          : [
              {
                label: `${name}: engine direct`,
                value: operation.direct.p50Ms,
                color: COLORS.direct ?? "#999",
                text: `${operation.direct.p50Ms.toFixed(2)} ms`,
              },
            ];
      }),
    ]),
    marks: ourGet === undefined ? [] : [{ value: ourGet.direct.p50Ms * 1.3, label: "get budget 1.3x direct" }],
  });
  panels.push({
    title: "Throughput (requests/s)",
    bars: operations.flatMap((name) =>
      results.load.runtimes.flatMap((runtime) => {
        const operation = runtime.operations.find((candidate) => candidate.operation === name);
        return operation === undefined
          ? []
          : [
              {
                label: `${name}: ${runtime.variant}`,
                value: operation.api.requestsPerSecond,
                color: COLORS[runtime.variant] ?? "#333",
                text: `${operation.api.requestsPerSecond.toFixed(0)}/s (direct ${operation.direct.requestsPerSecond.toFixed(0)}/s)`,
              },
            ];
      }),
    ),
  });

  const rendered: string[] = [];
  let top = 70;
  for (const spec of panels) {
    const { svg, height } = panel(spec, top);
    rendered.push(svg);
    top += height + 16;
  }
  const passed = results.budgets.filter((budget) => budget.pass).length;
  const { machine } = results;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" viewBox="0 0 ${WIDTH} ${top}" font-family="Helvetica, Arial, sans-serif" font-size="12">
<style>
.title { font-size: 14px; font-weight: bold; }
.mark { stroke: #d62728; stroke-width: 1.5; stroke-dasharray: 4 3; }
.mark-label { fill: #d62728; font-size: 11px; }
.value { paint-order: stroke; stroke: white; stroke-width: 3px; }
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">Items API bench (${results.mode}): ${passed} of ${results.budgets.length} budgets pass</text>
<text x="10" y="40" fill="#555">${escape(`${machine.cpus} CPUs, ${machine.cpuModel}, Node ${machine.node}, ${results.generatedAt}`)}</text>
${legend(60)}
${rendered.join("\n")}
</svg>
`;
}
