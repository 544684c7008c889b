/**
 * Serialized parity: the contract suite through the handlers exactly as CallbackFunction ships
 * them (each function's `__index.js`, taken from its archive under Pulumi mocks), per stack.
 * A closure-capture mistake fails here, not in AWS.
 *
 * `npm test` runs dev's; `npm run test:node22` (in .ci/run) both stacks', on the functions' Node.
 * The stacks' archives hold the same code (what differs between them reaches a function as its
 * environment, which the local runs of the contract cover for both stacks), so prod's adds its
 * settings to a run that costs about 3 s.
 */
import { randomUUID } from "crypto";
import { handlerEnvironment } from "../../handlers/env";
import { startEmbeddedEngine } from "../../local/engine";
import { localClientId } from "../../local/issuer";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { loadSerializedHandlers } from "../support/serialized-handlers";
import { CONTRACT_DYNAMODB_TIMEOUT_MS, describeContract } from "./contract";

/** The stacks whose archives run the contract: SERIALIZED_STACKS (comma-separated), else dev. */
const SERIALIZED_STACKS = (process.env.SERIALIZED_STACKS ?? "dev").split(",");

for (const stack of SERIALIZED_STACKS) {
  describeContract(`serialized ${stack} handlers`, readStackSettings(stack), async () => {
    const settings = readStackSettings(stack);
    const engine = await startEmbeddedEngine(undefined);
    const suffix = randomUUID().slice(0, 8);
    const tableNames = { items: `serialized-${suffix}-items`, idempotency: `serialized-${suffix}-idempotency` };
    const handlers = await loadSerializedHandlers(stack, {
      env: handlerEnvironment({
        tableNames,
        cursorSecret: `serialized-${suffix}-cursor-secret`,
        settings: { ...settings, logLevel: "warn" },
        dynamoDb: { endpoint: engine.endpoint, requestTimeoutMs: CONTRACT_DYNAMODB_TIMEOUT_MS },
        signIn: settings.signIn.mode === "cognito" ? { cognitoClientIds: localClientId(stack) } : undefined,
      }),
    });
    const api = await startLocalApi({
      settings,
      stack,
      handlers,
      dynamoDbEndpoint: engine.endpoint,
      tableNames,
      apiKey: settings.apiKeys.required ? `serialized-${suffix}-api-key` : undefined,
      accessLog: () => undefined,
    });
    return {
      ...api,
      close: async () => {
        await api.close();
        await engine.close();
      },
    };
  });
}
