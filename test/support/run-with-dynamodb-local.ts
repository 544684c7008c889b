/**
 * `npm run test:dynamodb-local`: the contract suite, and the writes retried after a lost answer,
 * against DynamoDB Local instead of the embedded engine. Starts the emulator, runs mocha with
 * CONTRACT_DYNAMODB_ENDPOINT set, stops the emulator and exits with mocha's exit code.
 * Extra arguments go to mocha: `npm run test:dynamodb-local -- --grep patch`.
 */
import { ChildProcess, spawn } from "child_process";
import { once } from "events";
import { constants } from "os";
import { startDynamoDbLocal } from "./dynamodb-local";
import { PROJECT_ROOT, mochaBin, mochaRcFlags } from "./mocha-run";

// The local runtime on DynamoDB Local (serialized parity runs on the embedded engine in npm test),
// and the retried writes, whose failure path there starts from the image DynamoDB returns.
const SPECS = ["test/contract/local.test.ts", "test/handlers/retries.test.ts"];

const exitCodeOf = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

async function main(): Promise<number> {
  // As test/support/setup.ts does for mocha: the SDK's Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const mochaArgs = [mochaBin(), "--no-config", ...mochaRcFlags(), ...SPECS, ...process.argv.slice(2)];

  // A signal must never leave java behind (`exit` listeners do not run when a signal kills us):
  // before mocha runs, remember it and stop after startup; while it runs, pass it on (Ctrl-C
  // reaches mocha through the terminal anyway, a plain `kill` of this runner does not) and let
  // mocha finish before the engine goes.
  let mocha: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    mocha?.kill(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const startedAt = Date.now();
    const engine = await startDynamoDbLocal();
    process.stdout.write(`DynamoDB Local ready at ${engine.endpoint} after ${Date.now() - startedAt} ms\n`);
    try {
      if (interrupted !== undefined) {
        return exitCodeOf(interrupted);
      }
      // mocha expands the glob itself; no shell involved.
      mocha = spawn(process.execPath, mochaArgs, {
        cwd: PROJECT_ROOT,
        stdio: "inherit",
        env: { ...process.env, CONTRACT_DYNAMODB_ENDPOINT: engine.endpoint },
      });
      const [code, signal] = (await once(mocha, "exit")) as [number | null, NodeJS.Signals | null];
      return code ?? exitCodeOf(signal ?? "SIGTERM");
    } finally {
      await engine.stop();
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
