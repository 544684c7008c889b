/**
 * A stand-in for STS on loopback: it answers AssumeRole (the Query API's form) with credentials
 * that expire `lifetimeMs` from now, or with `refusal`'s error when one is given, and keeps every
 * request it got. Point the SDK at it with AWS_ENDPOINT_URL_STS.
 */
import { createServer } from "http";
import type { AddressInfo } from "net";

export interface FakeSts {
  endpoint: string;
  /** Each request's form parameters (Action, RoleArn, RoleSessionName, Tags.member.N.Key ...). */
  requests: URLSearchParams[];
  close(): Promise<void>;
}

/** An STS error answer: the HTTP status and the error code (STS API Reference, AssumeRole, Errors). */
export interface StsRefusal {
  status: number;
  code: string;
}

export async function startFakeSts(
  lifetimeMs: number,
  account = "000000000000",
  refusal?: StsRefusal,
): Promise<FakeSts> {
  const requests: URLSearchParams[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    request.on("end", () => {
      requests.push(new URLSearchParams(body));
      if (refusal !== undefined) {
        response.writeHead(refusal.status, { "Content-Type": "text/xml" });
        response.end(
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>` +
            `<Code>${refusal.code}</Code><Message>refused</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
        return;
      }
      const expiration = new Date(Date.now() + lifetimeMs).toISOString();
      response.writeHead(200, { "Content-Type": "text/xml" });
      response.end(
        `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
          `<AccessKeyId>ASIA${requests.length}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>` +
          `<SessionToken>token</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
          `<AssumedRoleUser><Arn>arn:aws:sts::${account}:assumed-role/data/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>` +
          `</AssumeRoleResult></AssumeRoleResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
