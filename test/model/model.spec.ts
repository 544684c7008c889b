/**
 * `npm run test:model`: the long model-based run. For each engine (dynalite, persisted in a
 * temporary DATA_DIR; DynamoDB Local) and each stack (dev; prod with its API key), random command
 * sequences against `npm start`'s entry as a child process, `kill -9` and restarts included (also
 * while keyed creates are in flight), until the step budget or the time budget is spent.
 *
 * Environment: MODEL_STEPS (commands per engine, default 2000), MODEL_TIME_LIMIT_S (per engine,
 * default 420), MODEL_ENGINES (dynalite,dynamodb-local), MODEL_STACKS (dev,prod), MODEL_SEED,
 * MODEL_PATH and MODEL_REPLAY_PATH (replay a printed failure), MODEL_COMMANDS (a subset of the
 * commands), MODEL_CONDITIONALS (the commands that send conditional headers; 0: none),
 * MODEL_LAMBDA_TIMEOUT_MS (the child's
 * function timeout, which bounds the lock of a claim cut by kill -9; default 3000),
 * MODEL_SHRINK_LIMIT_S (how long a failure is shrunk, default 600).
 */
import { expect } from "chai";
import { DynamoDbLocal, startDynamoDbLocal } from "../support/dynamodb-local";
import { Stack, childTarget, commandsFromEnvironment, integerFromEnvironment, runModel } from "./run";

const ENGINES = (process.env.MODEL_ENGINES ?? "dynalite,dynamodb-local").split(",").map((engine) => engine.trim());
const STACKS = (process.env.MODEL_STACKS ?? "dev,prod").split(",").map((stack) => stack.trim()) as Stack[];
const STEPS_PER_ENGINE = integerFromEnvironment("MODEL_STEPS", 2000);
const TIME_LIMIT_MS = integerFromEnvironment("MODEL_TIME_LIMIT_S", 420) * 1000;
const FUNCTION_TIMEOUT_MS = integerFromEnvironment("MODEL_LAMBDA_TIMEOUT_MS", 3000);
/** Commands per run: each run starts on a fresh runtime and fresh tables. */
const COMMANDS_PER_RUN = 60;
/** Shrinking a failure: at most this long, then the last failing sequence is reported. */
const SHRINK_LIMIT_MS = integerFromEnvironment("MODEL_SHRINK_LIMIT_S", 600) * 1000;
const SEED = integerFromEnvironment("MODEL_SEED", Date.now() % 2 ** 31);

describe("model-based run (long): the API answers as the reference model predicts, crashes included", function () {
  this.timeout(TIME_LIMIT_MS + SHRINK_LIMIT_MS + 120000);
  let dynamoDbLocal: DynamoDbLocal | undefined;

  after(async () => {
    await dynamoDbLocal?.stop();
  });

  for (const engine of ENGINES) {
    for (const stack of STACKS) {
      // The steps and time of an engine, shared by its stacks (dev gets the larger share).
      const share = STACKS.length === 1 ? 1 : stack === "dev" ? 0.6 : 0.4;
      const label = `long ${engine} ${stack}`;
      it(label, async () => {
        let endpoint: string | undefined;
        if (engine === "dynamodb-local") {
          dynamoDbLocal ??= await startDynamoDbLocal();
          endpoint = dynamoDbLocal.endpoint;
        } else if (engine !== "dynalite") {
          throw new Error(`MODEL_ENGINES: unknown engine ${engine}`);
        }
        const steps = Math.ceil(STEPS_PER_ENGINE * share);
        const figures = await runModel({
          label,
          rerun: "npm run test:model --",
          stack,
          target: () => childTarget(stack, FUNCTION_TIMEOUT_MS, endpoint),
          ...commandsFromEnvironment(true),
          seed: SEED,
          path: process.env.MODEL_PATH,
          replayPath: process.env.MODEL_REPLAY_PATH,
          // Runs until a budget is spent: steps or time.
          numRuns: steps,
          maxSteps: steps,
          maxCommands: COMMANDS_PER_RUN,
          timeLimitMs: TIME_LIMIT_MS * share,
          shrinkLimitMs: SHRINK_LIMIT_MS,
          log: (line) => process.stdout.write(`      ${line}\n`),
        });
        expect(figures.commands).to.be.greaterThan(0);
      });
    }
  }
});
