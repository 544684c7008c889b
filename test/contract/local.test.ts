/**
 * The contract against the local runtime, per stack (prod with its API key): on the embedded
 * engine (npm test), or on the endpoint in CONTRACT_DYNAMODB_ENDPOINT (npm run
 * test:dynamodb-local starts DynamoDB Local for it).
 */
import { randomUUID } from "crypto";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { HANDLER_VARIABLES } from "../../handlers/env";
import { CONTRACT_DYNAMODB_TIMEOUT_MS, describeContract } from "./contract";

const endpoint = process.env.CONTRACT_DYNAMODB_ENDPOINT;

for (const stack of ["dev", "prod"]) {
  describeContract(`local runtime, ${stack} stack, on ${endpoint ?? "dynalite"}`, readStackSettings(stack), () => {
    const suffix = randomUUID().slice(0, 8);
    return startLocalApi({
      settings: readStackSettings(stack),
      stack,
      dynamoDbEndpoint: endpoint,
      tableNames: { items: `contract-${suffix}-items`, idempotency: `contract-${suffix}-idempotency` },
      apiKey: `contract-${suffix}-api-key`,
      environment: { [HANDLER_VARIABLES.dynamoDbRequestTimeoutMs]: String(CONTRACT_DYNAMODB_TIMEOUT_MS) },
      accessLog: () => undefined,
    });
  });
}
