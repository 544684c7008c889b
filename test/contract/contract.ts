/**
 * The mocha driver of the HTTP contract (checks.ts): `describeContract` runs every check against
 * a target whose tables it owns (the local runtime on the embedded engine, on DynamoDB Local, or
 * serving the handlers as CallbackFunction serializes them), then holds every exchange against
 * the stack's document (document-checks.ts).
 */
import { expect } from "chai";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { requestHashOf } from "../../handlers/operations";
import type { Settings } from "../../infra/config";
import { LocalIssuer, localIssuer } from "../../local/issuer";
import { CONTRACT_CHECKS, ContractTables, ContractUsers, contractContext } from "./checks";
import { DocumentChecker } from "./document-checks";

export { expectError } from "./checks";

/**
 * The embedded engine runs in the test process, beside the runtime and the checks, and on a
 * loaded machine it can take seconds to answer, which DynamoDB does not. The contract is not about
 * SDK timeouts (test/handlers/retries.test.ts is), so its targets give each DynamoDB attempt this
 * long instead of the stack's 2 s: a timed-out attempt the engine still applies would be retried,
 * and under 50 concurrent writers one item can pass the 16 writes its token history holds.
 */
export const CONTRACT_DYNAMODB_TIMEOUT_MS = 10000;

export interface ContractTarget {
  /** Base URL ending with `/`. */
  url: string;
  dynamoDbEndpoint: string;
  tableNames: { items: string; idempotency: string };
  /** The API key, where the stack requires one. */
  apiKey?: string;
  /** With sign-in: the local issuer standing in for the stack's user pool. */
  issuer?: LocalIssuer;
  close(): Promise<void>;
}

/** The two users the checks sign in as, and tokens the API must refuse, from a local issuer. */
export async function contractUsers(issuer: LocalIssuer): Promise<ContractUsers> {
  const token = await issuer.token("alice");
  const [header = "", payload = "", signature = ""] = token.split(".");
  const elsewhere = await localIssuer("elsewhere", undefined);
  return {
    token,
    owner: issuer.subOf("alice"),
    otherToken: await issuer.token("bob"),
    refused: {
      "an expired token": await issuer.token("alice", { expiresIn: -60 }),
      "a token of another user pool": await elsewhere.token("alice"),
      "a token with a bad signature": `${header}.${payload}.${signature.startsWith("A") ? "B" : "A"}${signature.slice(1)}`,
      "an access token": await issuer.token("alice", { claims: { token_use: "access" } }),
      "a token issued to another app client": await issuer.token("alice", { claims: { aud: "another-app-client" } }),
      "a token with a Bearer prefix": `Bearer ${token}`,
      "not a token": "alice",
    },
  };
}

function tablesOf(doc: DynamoDBDocumentClient, tableNames: ContractTarget["tableNames"]): ContractTables {
  return {
    countItems: async (owner) => {
      let count = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableNames.items,
            KeyConditionExpression: "#owner = :owner",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: { ":owner": owner },
            ExclusiveStartKey: start,
            ConsistentRead: true,
            Select: "COUNT",
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return count;
    },
    putIdempotencyRecord: async (owner, record) => {
      await doc.send(new PutCommand({ TableName: tableNames.idempotency, Item: { owner, ...record } }));
    },
    requestHash: requestHashOf,
  };
}

export function describeContract(
  label: string,
  settings: Pick<Settings, "corsAllowedOrigins" | "apiKeys" | "signIn">,
  startTarget: () => Promise<ContractTarget>,
): void {
  describe(`HTTP contract: ${label}`, function () {
    this.timeout(60000);
    let target: ContractTarget;
    let doc: DynamoDBDocumentClient;
    let context: ReturnType<typeof contractContext>;
    const documents = new DocumentChecker(settings);

    before(async () => {
      target = await startTarget();
      doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: target.dynamoDbEndpoint }));
      context = contractContext({
        url: target.url,
        apiKey: target.apiKey,
        users: target.issuer === undefined ? undefined : await contractUsers(target.issuer),
        settings,
        tables: tablesOf(doc, target.tableNames),
        observe: documents.observe,
      });
    });

    after(async () => {
      doc?.destroy();
      await target?.close();
    });

    const groups = new Map<string, typeof CONTRACT_CHECKS>();
    for (const check of CONTRACT_CHECKS) {
      groups.set(check.group, [...(groups.get(check.group) ?? []), check]);
    }
    for (const [group, checks] of groups) {
      describe(group, () => {
        for (const check of checks.filter((each) => settings.signIn.mode === "cognito" || !each.needsSignIn)) {
          it(check.title, () => check.run(context));
        }
      });
    }

    describe("the stack's document", () => {
      it("describes every response the checks got: status, headers and body", async () => {
        expect(documents.exchanges).to.be.greaterThan(300);
        expect(await documents.responseMismatches()).to.deep.equal([]);
      });

      it("refuses every request the server refused as invalid, or names the rule it cannot state", async () => {
        expect(await documents.unexplainedRefusals()).to.deep.equal([]);
      });
    });
  });
}
