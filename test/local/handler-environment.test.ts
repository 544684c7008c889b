/**
 * The local runtime builds its handlers' environment with the stack's own builder: the variables
 * every function of the stack gets (index.ts under Pulumi mocks), with the same DynamoDB attempts,
 * per-attempt timeout and CORS origins, plus the local engine's endpoint.
 */
import { expect } from "chai";
import { HANDLER_VARIABLES } from "../../handlers/env";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import { resourceOf, stackSnapshot } from "../support/program-snapshot";

describe("local runtime: the handlers' environment", function () {
  this.timeout(120000);

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: the variables the stack's functions get, the same DynamoDB and CORS values, and the local endpoint`, async () => {
      const fn = resourceOf(await stackSnapshot(stack), "getItem-function");
      const deployed = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      const api = await startLocalApi({ settings: readStackSettings(stack), stack, accessLog: () => undefined });
      try {
        const endpoint = HANDLER_VARIABLES.dynamoDbEndpoint;
        // No data access role locally: owner sessions need STS (npm start says so when it starts).
        const sessions = HANDLER_VARIABLES.dataAccessRoleArn;
        expect(deployed[sessions]).to.be.a("string");
        expect(Object.keys(api.environment).sort()).to.deep.equal(
          [...Object.keys(deployed).filter((name) => name !== sessions), endpoint].sort(),
        );
        expect(api.environment[HANDLER_VARIABLES.signIn]).to.equal(deployed[HANDLER_VARIABLES.signIn]);
        const shared = [
          HANDLER_VARIABLES.dynamoDbMaxAttempts,
          HANDLER_VARIABLES.dynamoDbRequestTimeoutMs,
          HANDLER_VARIABLES.corsAllowedOrigins,
        ];
        expect(shared.map((name) => api.environment[name])).to.deep.equal(shared.map((name) => deployed[name]));
        expect(api.environment[endpoint]).to.equal(api.dynamoDbEndpoint);
      } finally {
        await api.close();
      }
    });
  }

  it("LAMBDA_TIMEOUT_MS (timeoutMs) moves the DynamoDB timeout per attempt with the function's deadline", async () => {
    const api = await startLocalApi({
      settings: readStackSettings("dev"),
      stack: "dev",
      timeoutMs: 1200,
      accessLog: () => undefined,
    });
    try {
      // Three attempts and room to answer 503 in 1.2 s: 1200 / (3 + 1) ms each, as in AWS.
      expect(api.environment[HANDLER_VARIABLES.dynamoDbMaxAttempts]).to.equal("3");
      expect(api.environment[HANDLER_VARIABLES.dynamoDbRequestTimeoutMs]).to.equal("300");
    } finally {
      await api.close();
    }
  });
});
