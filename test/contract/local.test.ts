/**
 * The contract against the local runtime: on the embedded engine (npm test), or on the endpoint
 * in CONTRACT_DYNAMODB_ENDPOINT (npm run test:dynamodb-local starts DynamoDB Local for it).
 */
import { randomUUID } from "crypto";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { describeContract } from "./contract";

const endpoint = process.env.CONTRACT_DYNAMODB_ENDPOINT;

describeContract(endpoint === undefined ? "local runtime on dynalite" : `local runtime on ${endpoint}`, () => {
  const suffix = randomUUID().slice(0, 8);
  return startLocalApi({
    settings: readStackSettings("dev"),
    stack: "dev",
    dynamoDbEndpoint: endpoint,
    tableNames: { items: `contract-${suffix}-items`, idempotency: `contract-${suffix}-idempotency` },
    accessLog: () => undefined,
  });
});
