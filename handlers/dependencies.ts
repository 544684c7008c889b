/**
 * Everything a handler needs, built once per Lambda container (inside `callbackFactory`).
 */
import { randomUUID } from "crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { HandlerSettings, readSettings } from "./env";
import { Logger, createLogger } from "./logger";

export interface Dependencies {
  settings: HandlerSettings;
  doc: DynamoDBDocumentClient;
  log: Logger;
  now: () => Date;
  newId: () => string;
}

/**
 * The document client of a container. Attempts are explicit (the SDK's default is 3 with
 * backoff); the per-attempt timeout bounds a store that accepts connections but never answers,
 * and `throwOnRequestTimeout` makes it end the attempt (otherwise an exceeded requestTimeout only
 * logs a warning and the call waits on). Every call reports the capacity it consumed, which the
 * request log sums. The endpoint is passed only when one is set: an `endpoint` key holding
 * undefined made the client's construction cost about 2 % more of the bench's cold-init floor
 * (instructions counted under valgrind; see bench/README.md). (Comments inside handler code ship
 * in every archive: these stay outside.)
 */
export function createDocumentClient(settings: HandlerSettings): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(settings.dynamoDbEndpoint === undefined ? {} : { endpoint: settings.dynamoDbEndpoint }),
    maxAttempts: settings.dynamoDbMaxAttempts,
    requestHandler: {
      connectionTimeout: Math.min(1000, settings.dynamoDbRequestTimeoutMs),
      requestTimeout: settings.dynamoDbRequestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { convertEmptyValues: false, removeUndefinedValues: true },
  });
  doc.middlewareStack.add(
    (next) => (args) => {
      const input: unknown = args.input;
      if (typeof input === "object" && input !== null) {
        Object.assign(input, { ReturnConsumedCapacity: "TOTAL" });
      }
      return next(args);
    },
    { step: "initialize", name: "returnConsumedCapacity" },
  );
  return doc;
}

export function createDependencies(env: Record<string, string | undefined> = process.env): Dependencies {
  const settings = readSettings(env);
  return {
    settings,
    doc: createDocumentClient(settings),
    log: createLogger(settings.logLevel),
    now: () => new Date(),
    newId: () => randomUUID(),
  };
}
