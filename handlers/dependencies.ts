/**
 * Everything a handler needs, built once per Lambda container (inside `callbackFactory`).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { isTransient } from "./dynamodb";
import { HandlerSettings, readSettings } from "./env";
import { internalError, unavailable } from "./errors";
import { Logger, createLogger } from "./logger";

export interface Dependencies {
  settings: HandlerSettings;
  /** The function's own document client. */
  doc: DynamoDBDocumentClient;
  /**
   * The document client for an owner's requests: the function's own, or on a sign-in stack a
   * session of the data access role tagged with the owner, which IAM limits to that partition.
   */
  docFor: (owner: string, abortSignal?: AbortSignal) => Promise<DynamoDBDocumentClient>;
  log: Logger;
}

/** AWS credentials as the SDK takes them (a session's, from STS). */
interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/**
 * The document client of a container. Attempts are explicit (the SDK's default is 3 with
 * backoff); the per-attempt timeout bounds a store that accepts connections but never answers,
 * and `throwOnRequestTimeout` makes it end the attempt (otherwise an exceeded requestTimeout only
 * logs a warning and the call waits on). Every call reports the capacity it consumed, which the
 * request log sums. Session clients share the first client's connections. The endpoint is passed
 * only when one is set: an `endpoint` key holding undefined made the client's construction cost
 * about 2 % more of the bench's cold-init floor (instructions counted under valgrind; see
 * bench/README.md).
 */
export function createDocumentClient(
  settings: HandlerSettings,
  session?: { credentials: SessionCredentials; sharing: DynamoDBDocumentClient },
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(settings.dynamoDbEndpoint === undefined ? {} : { endpoint: settings.dynamoDbEndpoint }),
    maxAttempts: settings.dynamoDbMaxAttempts,
    requestHandler: session?.sharing.config.requestHandler ?? {
      connectionTimeout: Math.min(1000, settings.dynamoDbRequestTimeoutMs),
      requestTimeout: settings.dynamoDbRequestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    ...(session === undefined ? {} : { credentials: session.credentials }),
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

/**
 * Sessions of the data access role, one per owner, each tagged `owner=<sub>`: the role's policy
 * lets a session touch only the partition its tag names (`dynamodb:LeadingKeys`). A session lasts
 * an hour, the most a role chained from the function's own role may (IAM User Guide, "Role
 * chaining"), and is renewed five minutes before it ends; the container keeps the newest
 * SESSION.cacheSize owners' clients. The STS client is loaded by the first request that needs a
 * session, not at init, so cold starts stay as they are. STS answers from the function's region
 * (the SDK's default regional endpoint).
 */
function sessionClients(
  settings: HandlerSettings,
  roleArn: string,
  own: DynamoDBDocumentClient,
): Dependencies["docFor"] {
  let client:
    | {
        sts: import("@aws-sdk/client-sts").STSClient;
        assumeRole: typeof import("@aws-sdk/client-sts").AssumeRoleCommand;
      }
    | undefined;
  const sessions = new Map<string, { doc: DynamoDBDocumentClient; renewAt: number }>();
  return async (owner, abortSignal) => {
    const cached = sessions.get(owner);
    sessions.delete(owner);
    if (cached !== undefined && Date.now() < cached.renewAt) {
      sessions.set(owner, cached);
      return cached.doc;
    }
    if (client === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { AssumeRoleCommand, STSClient } = require("@aws-sdk/client-sts") as typeof import("@aws-sdk/client-sts");
      client = { sts: new STSClient({ maxAttempts: settings.dynamoDbMaxAttempts }), assumeRole: AssumeRoleCommand };
    }
    const { sts, assumeRole: AssumeRoleCommand } = client;
    let answer;
    try {
      answer = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          // 2-64 of [\w+=,.@-] (STS API Reference, AssumeRole): the sub is a UUID.
          RoleSessionName: `owner-${owner}`,
          DurationSeconds: SESSION.seconds,
          Tags: [{ Key: SESSION.ownerTag, Value: owner }],
        }),
        { abortSignal },
      );
    } catch (error) {
      throw isTransient(error) ? unavailable(error) : internalError(error);
    }
    const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = answer.Credentials ?? {};
    if (
      AccessKeyId === undefined ||
      SecretAccessKey === undefined ||
      SessionToken === undefined ||
      Expiration === undefined
    ) {
      throw internalError(new Error("AssumeRole answered without credentials"));
    }
    const credentials = {
      accessKeyId: AccessKeyId,
      secretAccessKey: SecretAccessKey,
      sessionToken: SessionToken,
      expiration: Expiration,
    };
    const doc = createDocumentClient(settings, { credentials, sharing: own });
    sessions.set(owner, { doc, renewAt: Expiration.getTime() - SESSION.renewBeforeMs });
    const oldest = sessions.keys().next().value;
    if (sessions.size > SESSION.cacheSize && oldest !== undefined) {
      sessions.delete(oldest);
    }
    return doc;
  };
}

/** Not an object with a `default` key: CallbackFunction's serializer takes those for ES-module wrappers. */
export const SESSION = { seconds: 3600, renewBeforeMs: 5 * 60 * 1000, cacheSize: 1000, ownerTag: "owner" };

export function createDependencies(env: Record<string, string | undefined> = process.env): Dependencies {
  const settings = readSettings(env);
  const doc = createDocumentClient(settings);
  const roleArn = settings.dataAccessRoleArn;
  return {
    settings,
    doc,
    docFor: roleArn === undefined ? () => Promise.resolve(doc) : sessionClients(settings, roleArn, doc),
    log: createLogger(settings.logLevel),
  };
}
