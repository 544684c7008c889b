/**
 * The short model-based run inside `npm test`: fixed seeds, a few runs of random command
 * sequences against the local runtime in the test process (dynalite in memory), for the dev and
 * the prod stack (with its API key). Every answer must be the reference model's prediction. The
 * long run, crashes and DynamoDB Local included, is `npm run test:model` (model.spec.ts).
 */
import { expect } from "chai";
import { COMMAND_KINDS, CRASH_KINDS } from "./commands";
import { Stack, inProcessTarget, runModel } from "./run";

/** Fixed seeds: the same sequences on every run of `npm test`. */
const SEEDS: Record<Stack, number> = { dev: 190001, prod: 190002 };
const RUNS = 2;
/** Every command but the crashes: this runtime runs in the test process. */
const IN_PROCESS_KINDS = COMMAND_KINDS.filter((kind) => !CRASH_KINDS.includes(kind));
const COMMANDS_PER_RUN = 30;

describe("model-based run (short): the API answers as the reference model predicts", function () {
  this.timeout(60000);
  for (const stack of ["dev", "prod"] as const) {
    it(`short ${stack}: the ${stack} stack on dynalite, ${RUNS} runs of up to ${COMMANDS_PER_RUN} random commands`, async () => {
      const figures = await runModel({
        label: `short ${stack}`,
        rerun:
          "npx mocha --no-config -r ./local/swc-register.cjs -r test/support/setup.ts --exit test/model/model.test.ts",
        stack,
        target: () => inProcessTarget(stack),
        kinds: IN_PROCESS_KINDS,
        conditionals: IN_PROCESS_KINDS,
        seed: SEEDS[stack],
        path: process.env.MODEL_PATH,
        replayPath: process.env.MODEL_REPLAY_PATH,
        numRuns: RUNS,
        maxCommands: COMMANDS_PER_RUN,
        shrinkLimitMs: 20000,
        log: (line) => process.stdout.write(`      ${line}\n`),
      });
      expect(figures.runs).to.equal(RUNS);
    });
  }
});
