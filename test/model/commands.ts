/**
 * The commands of the model-based runs: each sends one request (or a walk of pages, a burst of
 * concurrent keyed creates, a `kill -9` and restart) over real HTTP, asks the reference model
 * which answers are right, and fails with the request and the differences when none is.
 */
import * as fc from "fast-check";
import * as recipes from "./arbitraries";
import { MODEL_LIMITS, ModelItem, ModelRequest, Observed, Outcome, ReferenceModel } from "./reference";
import {
  bodyOfFields,
  callerLines,
  conditionalLines,
  contentType,
  keyLines,
  listQuery,
  newItemBody,
  patchBody,
  pickItem,
  request,
  userLines,
} from "./requests";
import { Session } from "./session";

/** The kinds of command; `MODEL_COMMANDS` may name a subset. */
export const COMMAND_KINDS = [
  "create",
  "createKeyed",
  "badKey",
  "read",
  "head",
  "list",
  "walk",
  "replace",
  "patch",
  "remove",
  "otherMethod",
  "unknownRoute",
  "concurrentKeyed",
  "restart",
  "crashKeyed",
] as const;

export type CommandKind = (typeof COMMAND_KINDS)[number];

/** Kinds that need a runtime the run can kill and restart. */
export const CRASH_KINDS: readonly CommandKind[] = ["restart", "crashKeyed"];

/** One answer held against the model's outcomes: the first that fits is committed; none fails the run. */
export function settle(session: Session, step: number, outcomes: Outcome[], observed: Observed): void {
  const verdicts = outcomes.map((outcome) => ({ outcome, problems: outcome.verify(observed) }));
  const fitting = verdicts.find((verdict) => verdict.problems.length === 0);
  if (fitting === undefined) {
    session.fail(
      step,
      verdicts.map(({ outcome, problems }) => ({ expected: outcome.describe, problems })),
    );
  } else {
    fitting.outcome.commit(observed);
  }
}

/** Sends a request and settles its answer. */
async function exchange(
  session: Session,
  model: ReferenceModel,
  sent: ModelRequest,
  walk?: { continued: boolean },
): Promise<Observed> {
  const outcomes = model.predict(sent, walk);
  const { step, observed } = await session.send(sent);
  settle(session, step, outcomes, observed);
  return observed;
}

/** When to stop: `expired` is asked before each command, `spent` told after it started. */
type Budget = { expired(): boolean; spent(): void };

/** A command of one request (or a few), made from a recipe when it runs. */
class ModelCommand implements fc.AsyncCommand<ReferenceModel, Session> {
  constructor(
    readonly kind: CommandKind,
    readonly recipe: unknown,
    private readonly budget: Budget,
    private readonly body: (model: ReferenceModel, session: Session) => Promise<unknown>,
  ) {}

  check(): boolean {
    return !this.budget.expired();
  }

  async run(model: ReferenceModel, session: Session): Promise<void> {
    session.beginCommand(this.toString());
    this.budget.spent();
    await this.body(model, session);
  }

  toString(): string {
    return `${this.kind} ${JSON.stringify(this.recipe)}`;
  }
}

export interface CommandOptions {
  kinds: readonly CommandKind[];
  /** false: no conditional headers at all (to look at one finding at a time). */
  /** The kinds that send conditional headers (the others send none: to look at one finding at a time). */
  conditionals: readonly CommandKind[];
  budget: Budget;
}

type CommandArbitrary = fc.Arbitrary<fc.AsyncCommand<ReferenceModel, Session>>;

/** The arbitraries of the commands `options.kinds` names, each as often as its weight. */
export function commandArbitraries(options: CommandOptions): CommandArbitrary[] {
  const conditions = (kind: CommandKind): fc.Arbitrary<recipes.ConditionalRecipe> =>
    options.conditionals.includes(kind) ? recipes.conditionalRecipe : fc.constant(recipes.NO_CONDITIONS);
  /** A command of its own steps. */
  const steps = <R>(
    kind: CommandKind,
    weight: number,
    recipes: fc.Arbitrary<R>,
    run: (model: ReferenceModel, session: Session, recipe: R) => Promise<unknown>,
  ) => ({
    weight,
    arbitrary: recipes.map(
      (recipe) => new ModelCommand(kind, recipe, options.budget, (model, session) => run(model, session, recipe)),
    ),
  });
  /** A command of one request. */
  const single = <R>(
    kind: CommandKind,
    weight: number,
    recipes: fc.Arbitrary<R>,
    requestOf: (model: ReferenceModel, recipe: R) => ModelRequest,
  ) => steps(kind, weight, recipes, (model, session, recipe) => exchange(session, model, requestOf(model, recipe)));
  const caller = recipes.callerRecipe;
  const all: Record<CommandKind, { weight: number; arbitrary: CommandArbitrary }> = {
    create: single(
      "create",
      8,
      fc.record({
        body: recipes.bodyRecipe,
        contentType: recipes.contentTypeForm,
        conditions: conditions("create"),
        caller,
      }),
      createRequest,
    ),
    createKeyed: single(
      "createKeyed",
      6,
      fc.record({
        body: recipes.bodyRecipe,
        key: recipes.keyRecipe,
        casing: fc.nat(2),
        conditions: conditions("createKeyed"),
        caller,
      }),
      keyedCreateRequest,
    ),
    badKey: single(
      "badKey",
      2,
      fc.record({
        body: recipes.bodyRecipe,
        key: recipes.badKeyRecipe,
        casing: fc.nat(2),
        conditions: conditions("badKey"),
        caller,
      }),
      keyedCreateRequest,
    ),
    read: single(
      "read",
      4,
      fc.record({ pick: recipes.itemPick, conditions: conditions("read"), caller }),
      (model, recipe) => itemRequest(model, "GET", recipe),
    ),
    head: single(
      "head",
      2,
      fc.record({ pick: fc.option(recipes.itemPick, { nil: undefined }), conditions: conditions("head"), caller }),
      (model, recipe) =>
        recipe.pick === undefined
          ? request("HEAD", "/items", [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1)])
          : itemRequest(model, "HEAD", { ...recipe, pick: recipe.pick }),
    ),
    list: single(
      "list",
      2,
      fc.record({ limit: recipes.limitForm, cursor: recipes.cursorForm, conditions: conditions("list"), caller }),
      listRequest,
    ),
    walk: steps(
      "walk",
      2,
      fc.record({
        limit: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 8 }), fc.constantFrom(20, 100)),
        user: recipes.callerRecipe.map((caller) => caller.user),
      }),
      (model, session, recipe) => walk(model, session, recipe.limit, recipe.user),
    ),
    replace: single(
      "replace",
      4,
      fc.record({
        pick: recipes.itemPick,
        body: recipes.bodyRecipe,
        contentType: recipes.contentTypeForm,
        conditions: conditions("replace"),
        caller,
      }),
      replaceRequest,
    ),
    patch: single(
      "patch",
      8,
      fc.record({
        pick: recipes.itemPick,
        patch: recipes.patchRecipe,
        contentType: recipes.contentTypeForm,
        conditions: conditions("patch"),
        caller,
      }),
      patchRequest,
    ),
    remove: single(
      "remove",
      2,
      fc.record({ pick: recipes.itemPick, conditions: conditions("remove"), caller }),
      (model, recipe) => itemRequest(model, "DELETE", recipe),
    ),
    // A method no route of the path has (405 with Allow), or OPTIONS (the CORS preflight).
    otherMethod: single(
      "otherMethod",
      1,
      fc.record({
        on: fc.constantFrom(
          "PUT /items",
          "PATCH /items",
          "DELETE /items",
          "POST /items/{id}",
          "OPTIONS /items",
          "OPTIONS /items/{id}",
        ),
        pick: recipes.itemPick,
        caller,
      }),
      (model, recipe) => {
        const [method = "PUT", path = "/items"] = recipe.on.split(" ");
        const resolved = path.replace("{id}", pickItem(recipe.pick, model).segment);
        return request(method, resolved, callerLines(recipe.caller, model));
      },
    ),
    unknownRoute: single(
      "unknownRoute",
      1,
      fc.record({
        path: fc.constantFrom("/", "/item", "/itemsx", "/items/a/b", "/openapi"),
        method: fc.constantFrom("GET", "POST", "DELETE"),
        caller,
      }),
      (model, recipe) => request(recipe.method, recipe.path, callerLines(recipe.caller, model)),
    ),
    concurrentKeyed: steps(
      "concurrentKeyed",
      1,
      fc.record({
        body: recipes.bodyRecipe.map((body) => ({ ...body, fault: undefined, exactSize: false })),
        copies: fc.integer({ min: 2, max: 4 }),
      }),
      (model, session, recipe) => concurrentKeyed(model, session, recipe.body, recipe.copies),
    ),
    restart: steps("restart", 1, fc.constant(null), (model, session) => session.restart(model, [], [])),
    crashKeyed: steps(
      "crashKeyed",
      1,
      fc.record({
        clients: fc.integer({ min: 2, max: 12 }),
        killAfter: fc.integer({ min: 0, max: 20 }),
        unkeyedEvery: fc.integer({ min: 0, max: 4 }),
      }),
      crashDuringKeyedCreates,
    ),
  };
  // fc.commands picks among its arbitraries uniformly: a weight is that many copies.
  return options.kinds.flatMap((kind) => Array.from({ length: all[kind].weight }, () => all[kind].arbitrary));
}

// ---------------------------------------------------------------------------------------------
// Requests of the commands

function createRequest(
  model: ReferenceModel,
  recipe: {
    body: recipes.BodyRecipe;
    contentType: recipes.ContentTypeForm;
    conditions: recipes.ConditionalRecipe;
    caller: recipes.CallerRecipe;
  },
): ModelRequest {
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1)];
  return request("POST", "/items", lines, {
    bytes: newItemBody(recipe.body, "created"),
    contentType: contentType(recipe.contentType, "new-item"),
  });
}

function keyedCreateRequest(
  model: ReferenceModel,
  recipe: {
    body: recipes.BodyRecipe;
    key: recipes.KeyRecipe;
    casing: number;
    conditions: recipes.ConditionalRecipe;
    caller: recipes.CallerRecipe;
  },
): ModelRequest {
  const key = keyLines(recipe.key, model, recipe.casing);
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1), ...key.lines];
  return request("POST", "/items", lines, {
    bytes: key.body ?? newItemBody(recipe.body, "keyed"),
    contentType: "application/json",
  });
}

/** A request to the item a recipe picks, with its conditional headers made from that item's ETag; writes add a body. */
function itemRequest(
  model: ReferenceModel,
  method: string,
  recipe: { pick: recipes.ItemPick; conditions: recipes.ConditionalRecipe; caller: recipes.CallerRecipe },
  body?: (item: ModelItem | undefined) => { bytes: Buffer; contentType: string | undefined },
): ModelRequest {
  const target = pickItem(recipe.pick, model);
  const lines = [
    ...callerLines(recipe.caller, model),
    ...conditionalLines(recipe.conditions, target.item?.version ?? 1),
  ];
  return request(method, `/items/${target.segment}`, lines, body?.(target.item));
}

function replaceRequest(
  model: ReferenceModel,
  recipe: Parameters<typeof itemRequest>[2] & { body: recipes.BodyRecipe; contentType: recipes.ContentTypeForm },
): ModelRequest {
  return itemRequest(model, "PUT", recipe, () => ({
    bytes: newItemBody(recipe.body, "replaced"),
    contentType: contentType(recipe.contentType, "new-item"),
  }));
}

function patchRequest(
  model: ReferenceModel,
  recipe: Parameters<typeof itemRequest>[2] & { patch: recipes.PatchRecipe; contentType: recipes.ContentTypeForm },
): ModelRequest {
  return itemRequest(model, "PATCH", recipe, (item) => ({
    bytes: patchBody(recipe.patch, item),
    contentType: contentType(recipe.contentType, "patch"),
  }));
}

function listRequest(
  model: ReferenceModel,
  recipe: {
    limit: recipes.LimitForm;
    cursor: recipes.CursorForm;
    conditions: recipes.ConditionalRecipe;
    caller: recipes.CallerRecipe;
  },
): ModelRequest {
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1)];
  return request("GET", "/items", lines, undefined, listQuery(recipe.limit, recipe.cursor, model));
}

/** Every page of `user`'s items, following nextCursor; then each of them listed once, newest first. */
async function walk(model: ReferenceModel, session: Session, limit: number | undefined, user: string): Promise<void> {
  const listed: string[] = [];
  let cursor: string | undefined;
  const stored = model.itemsOf(user).length + model.unseenPendings(user).length;
  const most = Math.ceil((stored + 1) / (limit ?? MODEL_LIMITS.defaultPageSize)) + 3;
  for (let page = 0; page < most; page++) {
    const query: [string, string][] = [
      ...(limit === undefined ? [] : ([["limit", String(limit)]] as [string, string][])),
      ...(cursor === undefined ? [] : ([["cursor", cursor]] as [string, string][])),
    ];
    const observed = await exchange(
      session,
      model,
      request("GET", "/items", userLines(model, user), undefined, query),
      {
        continued: cursor !== undefined,
      },
    );
    listed.push(...(observed.json.items as { id: string }[]).map((item) => item.id));
    cursor = observed.json.nextCursor as string | undefined;
    if (cursor === undefined) {
      const problems = model.endWalk(user, listed);
      if (problems.length > 0) {
        session.fail(session.lastStep(), [{ expected: "a walk that lists every item exactly once", problems }]);
      }
      return;
    }
  }
  session.fail(session.lastStep(), [
    { expected: `a walk of at most ${most} pages`, problems: ["the walk did not end"] },
  ]);
}

/**
 * The same keyed create sent 2-4 times at once: one stores the item; each other answers its 201
 * again (same id) or 409 request_in_progress with Retry-After.
 */
async function concurrentKeyed(
  model: ReferenceModel,
  session: Session,
  body: recipes.BodyRecipe,
  copies: number,
): Promise<void> {
  const sent = request(
    "POST",
    "/items",
    [...userLines(model), ["Idempotency-Key", `together-${Date.now()}-${Math.random()}`]],
    {
      bytes: newItemBody(body, "together"),
      contentType: "application/json",
    },
  );
  const fresh = model.predict(sent);
  const answers = await Promise.all(Array.from({ length: copies }, () => session.send(sent)));
  const created = answers.find(({ observed }) => observed.status === 201);
  if (created === undefined) {
    session.fail(answers[0]?.step ?? session.lastStep(), [
      {
        expected: "one of the copies answers 201",
        problems: answers.map(({ observed }) => `status ${observed.status}`),
      },
    ]);
    return;
  }
  settle(session, created.step, fresh, created.observed);
  for (const other of answers.filter((answer) => answer !== created)) {
    settle(session, other.step, [...model.predict(sent), model.inProgress(sent)], other.observed);
  }
}

/**
 * `kill -9` while keyed creates are in flight: `clients` loops send creates back to back (every
 * `unkeyedEvery`-th one without a key), the runtime is killed once `killAfter` were answered,
 * then restarted on the same data. Answered creates are held to the model; cut ones become
 * uncertain until later answers tell. The run waits until the cut claims' locks have lapsed.
 */
async function crashDuringKeyedCreates(
  model: ReferenceModel,
  session: Session,
  recipe: { clients: number; killAfter: number; unkeyedEvery: number },
): Promise<void> {
  let killed = false;
  let answered = 0;
  const cut: { sent: ModelRequest; sentAt: number; step: number }[] = [];
  // Keys and names of this burst only: a cut request never retries an earlier burst's key.
  const crash = session.kills;
  const killing = session.beginCrash();
  const kill = () => {
    if (!killed) {
      killed = true;
      void killing.kill();
    }
  };
  if (recipe.killAfter === 0) {
    setTimeout(kill, 5);
  }
  const client = async (index: number): Promise<void> => {
    for (let sequence = 0; !killed; sequence++) {
      const keyed = recipe.unkeyedEvery === 0 || sequence % recipe.unkeyedEvery !== recipe.unkeyedEvery - 1;
      const label = `crash ${session.runTag}-${crash} ${index}-${sequence}`;
      const sent = request(
        "POST",
        "/items",
        [
          ...userLines(model),
          ...(keyed
            ? ([["Idempotency-Key", `crash-${session.runTag}-${crash}-${index}-${sequence}`]] as [string, string][])
            : []),
        ],
        {
          bytes: bodyOfFields(
            {
              name: label,
              description: "",
              attrs: new Map([
                ["client", index],
                ["sequence", sequence],
              ]),
            },
            false,
            false,
          ),
          contentType: "application/json",
        },
      );
      const outcomes = model.predict(sent);
      const sentAt = Date.now();
      const answer = await session.sendOrCut(sent);
      if (answer.cut) {
        cut.push({ sent, sentAt, step: answer.step });
        return;
      }
      settle(session, answer.step, outcomes, answer.observed);
      answered += 1;
      if (answered >= recipe.killAfter) {
        kill();
      }
    }
  };
  await Promise.all(Array.from({ length: recipe.clients }, (_, index) => client(index)));
  const killedAt = await killing.done;
  for (const { sent, sentAt, step } of cut) {
    model.cutCreate(model.firstOwner, sent, [sentAt, killedAt], `step ${step}`);
  }
  await session.restart(
    model,
    cut.map(({ step }) => step),
    [killedAt],
  );
}
