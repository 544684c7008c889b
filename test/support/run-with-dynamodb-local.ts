/**
 * `npm run test:dynamodb-local`: the contract suite, and the writes retried after a lost answer,
 * against DynamoDB Local instead of the embedded engine. Starts the emulator, runs mocha with
 * CONTRACT_DYNAMODB_ENDPOINT set, stops the emulator and exits with mocha's exit code.
 * Extra arguments go to mocha: `npm run test:dynamodb-local -- --grep patch`.
 */
import { startDynamoDbLocal } from "./dynamodb-local";
import { exitCodeOf, exitWith, mochaBin, mochaRcFlags, relayingSignals } from "./mocha-run";

// The local runtime on DynamoDB Local (serialized parity runs on the embedded engine in npm test),
// and the retried writes, whose failure path there starts from the image DynamoDB returns.
const SPECS = ["test/contract/local.test.ts", "test/handlers/retries.test.ts", "test/handlers/pages.test.ts"];

async function main(): Promise<number> {
  // As test/support/setup.ts does for mocha: the SDK's Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const mochaArgs = [mochaBin(), "--no-config", ...mochaRcFlags(), ...SPECS, ...process.argv.slice(2)];
  // A signal must never leave java behind: one that comes while the engine starts stops the run
  // once it is up; one that comes while mocha runs reaches mocha, which finishes before the
  // engine goes.
  return relayingSignals(async (relay) => {
    const startedAt = Date.now();
    const engine = await startDynamoDbLocal();
    process.stdout.write(`DynamoDB Local ready at ${engine.endpoint} after ${Date.now() - startedAt} ms\n`);
    try {
      if (relay.received !== undefined) {
        return exitCodeOf(relay.received);
      }
      // mocha expands the glob itself; no shell involved.
      return await relay.run(process.execPath, mochaArgs, {
        ...process.env,
        CONTRACT_DYNAMODB_ENDPOINT: engine.endpoint,
      });
    } finally {
      await engine.stop();
    }
  });
}

exitWith(main);
