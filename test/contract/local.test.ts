/**
 * The contract against the local runtime, per stack (prod with its API key): on the embedded
 * engine (npm test), or on the endpoint in CONTRACT_DYNAMODB_ENDPOINT (npm run
 * test:dynamodb-local starts DynamoDB Local for it).
 */
import { randomUUID } from "crypto";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { HANDLER_VARIABLES } from "../../handlers/env";
import type { Settings } from "../../infra/config";
import { withoutSignIn } from "../support/users";
import { CONTRACT_DYNAMODB_TIMEOUT_MS, describeContract } from "./contract";

const endpoint = process.env.CONTRACT_DYNAMODB_ENDPOINT;

/**
 * The stacks as they are (dev signs users in; prod also wants its key), and, on DynamoDB Local
 * (CI's longer suite), the two modes no stack uses by default: anonymous (dev without sign-in)
 * and API keys alone (prod without sign-in).
 */
const targets: { label: string; stack: string; settings: Settings }[] = [
  ...["dev", "prod"].map((stack) => ({ label: `${stack} stack`, stack, settings: readStackSettings(stack) })),
  ...(endpoint === undefined
    ? []
    : [
        {
          label: "dev stack without sign-in (anonymous)",
          stack: "dev",
          settings: withoutSignIn(readStackSettings("dev")),
        },
        {
          label: "prod stack without sign-in (API keys alone)",
          stack: "prod",
          settings: withoutSignIn(readStackSettings("prod")),
        },
      ]),
];

for (const { label, stack, settings } of targets) {
  describeContract(`local runtime, ${label}, on ${endpoint ?? "dynalite"}`, settings, () => {
    const suffix = randomUUID().slice(0, 8);
    return startLocalApi({
      settings,
      stack,
      dynamoDbEndpoint: endpoint,
      tableNames: { items: `contract-${suffix}-items`, idempotency: `contract-${suffix}-idempotency` },
      apiKey: `contract-${suffix}-api-key`,
      environment: { [HANDLER_VARIABLES.dynamoDbRequestTimeoutMs]: String(CONTRACT_DYNAMODB_TIMEOUT_MS) },
      accessLog: () => undefined,
    });
  });
}
