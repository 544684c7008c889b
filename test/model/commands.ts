/**
 * The commands of the model-based runs: each sends one request (or a walk of pages, a burst of
 * concurrent keyed creates, a `kill -9` and restart) over real HTTP, asks the reference model
 * which answers are right, and fails with the request and the differences when none is.
 */
import * as fc from "fast-check";
import {
  BodyRecipe,
  CallerRecipe,
  ConditionalRecipe,
  ContentTypeForm,
  CursorForm,
  ItemPick,
  KeyRecipe,
  LimitForm,
  NO_CONDITIONS,
  PatchRecipe,
  badKeyRecipe,
  bodyRecipe,
  callerRecipe,
  conditionalRecipe,
  contentTypeForm,
  cursorForm,
  itemPick,
  keyRecipe,
  limitForm,
  patchRecipe,
} from "./arbitraries";
import { MODEL_LIMITS, ModelRequest, Observed, Outcome, ReferenceModel } from "./reference";
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
  "wrongMethod",
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
  conditionals: boolean;
  budget: Budget;
}

/** The arbitraries of the commands `options.kinds` names, weighted. */
export function commandArbitraries(options: CommandOptions): fc.Arbitrary<fc.AsyncCommand<ReferenceModel, Session>>[] {
  const conditions: fc.Arbitrary<ConditionalRecipe> = options.conditionals
    ? conditionalRecipe
    : fc.constant(NO_CONDITIONS);
  const command = (
    kind: CommandKind,
    recipe: unknown,
    body: (model: ReferenceModel, session: Session) => Promise<unknown>,
  ) => new ModelCommand(kind, recipe, options.budget, body);
  const all: Record<
    CommandKind,
    { weight: number; arbitrary: fc.Arbitrary<fc.AsyncCommand<ReferenceModel, Session>> }
  > = {
    create: {
      weight: 8,
      arbitrary: fc
        .record({ body: bodyRecipe, contentType: contentTypeForm, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("create", recipe, (model, session) => exchange(session, model, createRequest(model, recipe))),
        ),
    },
    createKeyed: {
      weight: 6,
      arbitrary: fc
        .record({ body: bodyRecipe, key: keyRecipe, casing: fc.nat(2), conditions, caller: callerRecipe })
        .map((recipe) =>
          command("createKeyed", recipe, (model, session) =>
            exchange(session, model, keyedCreateRequest(model, recipe)),
          ),
        ),
    },
    badKey: {
      weight: 2,
      arbitrary: fc
        .record({ body: bodyRecipe, key: badKeyRecipe, casing: fc.nat(2), conditions, caller: callerRecipe })
        .map((recipe) =>
          command("badKey", recipe, (model, session) => exchange(session, model, keyedCreateRequest(model, recipe))),
        ),
    },
    read: {
      weight: 4,
      arbitrary: fc
        .record({ pick: itemPick, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("read", recipe, (model, session) => exchange(session, model, itemRequest(model, "GET", recipe))),
        ),
    },
    head: {
      weight: 2,
      arbitrary: fc
        .record({ pick: fc.option(itemPick, { nil: undefined }), conditions, caller: callerRecipe })
        .map((recipe) =>
          command("head", recipe, (model, session) =>
            exchange(
              session,
              model,
              recipe.pick === undefined
                ? request("HEAD", "/items", [
                    ...callerLines(recipe.caller, model),
                    ...conditionalLines(recipe.conditions, 1),
                  ])
                : itemRequest(model, "HEAD", { ...recipe, pick: recipe.pick }),
            ),
          ),
        ),
    },
    list: {
      weight: 2,
      arbitrary: fc
        .record({ limit: limitForm, cursor: cursorForm, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("list", recipe, (model, session) => exchange(session, model, listRequest(model, recipe))),
        ),
    },
    walk: {
      weight: 2,
      arbitrary: fc
        .record({ limit: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 8 }), fc.constantFrom(20, 100)) })
        .map((recipe) => command("walk", recipe, (model, session) => walk(model, session, recipe.limit))),
    },
    replace: {
      weight: 4,
      arbitrary: fc
        .record({ pick: itemPick, body: bodyRecipe, contentType: contentTypeForm, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("replace", recipe, async (model, session) => {
            const target = pickItem(recipe.pick, model);
            const lines = [
              ...callerLines(recipe.caller, model),
              ...conditionalLines(recipe.conditions, target.item?.version ?? 1),
            ];
            const body = {
              bytes: newItemBody(recipe.body, "replaced"),
              contentType: contentType(recipe.contentType, "new-item"),
            };
            await exchange(session, model, request("PUT", `/items/${target.segment}`, lines, body));
          }),
        ),
    },
    patch: {
      weight: 8,
      arbitrary: fc
        .record({ pick: itemPick, patch: patchRecipe, contentType: contentTypeForm, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("patch", recipe, (model, session) => exchange(session, model, patchRequest(model, recipe))),
        ),
    },
    remove: {
      weight: 2,
      arbitrary: fc
        .record({ pick: itemPick, conditions, caller: callerRecipe })
        .map((recipe) =>
          command("remove", recipe, (model, session) => exchange(session, model, itemRequest(model, "DELETE", recipe))),
        ),
    },
    wrongMethod: {
      weight: 1,
      arbitrary: fc
        .record({
          on: fc.constantFrom("PUT /items", "PATCH /items", "DELETE /items", "POST /items/{id}"),
          pick: itemPick,
          caller: callerRecipe,
        })
        .map((recipe) =>
          command("wrongMethod", recipe, (model, session) => {
            const [method = "PUT", path = "/items"] = recipe.on.split(" ");
            const resolved = path.replace("{id}", pickItem(recipe.pick, model).segment);
            return exchange(session, model, request(method, resolved, callerLines(recipe.caller, model)));
          }),
        ),
    },
    unknownRoute: {
      weight: 1,
      arbitrary: fc
        .record({
          path: fc.constantFrom("/", "/item", "/itemsx", "/items/a/b", "/openapi"),
          method: fc.constantFrom("GET", "POST", "DELETE"),
          caller: callerRecipe,
        })
        .map((recipe) =>
          command("unknownRoute", recipe, (model, session) =>
            exchange(session, model, request(recipe.method, recipe.path, callerLines(recipe.caller, model))),
          ),
        ),
    },
    concurrentKeyed: {
      weight: 1,
      arbitrary: fc
        .record({
          body: bodyRecipe.map((body) => ({ ...body, fault: undefined, exactSize: false })),
          copies: fc.integer({ min: 2, max: 4 }),
        })
        .map((recipe) =>
          command("concurrentKeyed", recipe, (model, session) =>
            concurrentKeyed(model, session, recipe.body, recipe.copies),
          ),
        ),
    },
    restart: {
      weight: 1,
      arbitrary: fc
        .constant(null)
        .map((recipe) => command("restart", recipe, (model, session) => session.restart(model, [], []))),
    },
    crashKeyed: {
      weight: 1,
      arbitrary: fc
        .record({
          clients: fc.integer({ min: 2, max: 12 }),
          killAfter: fc.integer({ min: 0, max: 20 }),
          unkeyedEvery: fc.integer({ min: 0, max: 4 }),
        })
        .map((recipe) =>
          command("crashKeyed", recipe, (model, session) => crashDuringKeyedCreates(model, session, recipe)),
        ),
    },
  };
  return options.kinds
    .map((kind) => all[kind])
    .map(({ weight, arbitrary }) => ({ weight, arbitrary }))
    .flatMap(({ weight, arbitrary }) => Array.from({ length: weight }, () => arbitrary));
}

// ---------------------------------------------------------------------------------------------
// Requests of the commands

function createRequest(
  model: ReferenceModel,
  recipe: { body: BodyRecipe; contentType: ContentTypeForm; conditions: ConditionalRecipe; caller: CallerRecipe },
): ModelRequest {
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1)];
  return request("POST", "/items", lines, {
    bytes: newItemBody(recipe.body, "created"),
    contentType: contentType(recipe.contentType, "new-item"),
  });
}

function keyedCreateRequest(
  model: ReferenceModel,
  recipe: { body: BodyRecipe; key: KeyRecipe; casing: number; conditions: ConditionalRecipe; caller: CallerRecipe },
): ModelRequest {
  const key = keyLines(recipe.key, model, recipe.casing);
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1), ...key.lines];
  return request("POST", "/items", lines, {
    bytes: key.body ?? newItemBody(recipe.body, "keyed"),
    contentType: "application/json",
  });
}

function itemRequest(
  model: ReferenceModel,
  method: string,
  recipe: { pick: ItemPick; conditions: ConditionalRecipe; caller: CallerRecipe },
): ModelRequest {
  const target = pickItem(recipe.pick, model);
  const lines = [
    ...callerLines(recipe.caller, model),
    ...conditionalLines(recipe.conditions, target.item?.version ?? 1),
  ];
  return request(method, `/items/${target.segment}`, lines);
}

function patchRequest(
  model: ReferenceModel,
  recipe: {
    pick: ItemPick;
    patch: PatchRecipe;
    contentType: ContentTypeForm;
    conditions: ConditionalRecipe;
    caller: CallerRecipe;
  },
): ModelRequest {
  const target = pickItem(recipe.pick, model);
  const lines = [
    ...callerLines(recipe.caller, model),
    ...conditionalLines(recipe.conditions, target.item?.version ?? 1),
  ];
  const body = { bytes: patchBody(recipe.patch, target.item), contentType: contentType(recipe.contentType, "patch") };
  return request("PATCH", `/items/${target.segment}`, lines, body);
}

function listRequest(
  model: ReferenceModel,
  recipe: { limit: LimitForm; cursor: CursorForm; conditions: ConditionalRecipe; caller: CallerRecipe },
): ModelRequest {
  const lines = [...callerLines(recipe.caller, model), ...conditionalLines(recipe.conditions, 1)];
  return request("GET", "/items", lines, undefined, listQuery(recipe.limit, recipe.cursor, model));
}

function keyHeader(model: ReferenceModel): [string, string][] {
  return model.apiKey === undefined ? [] : [["x-api-key", model.apiKey]];
}

/** Every page, following nextCursor; then every item listed exactly once. */
async function walk(model: ReferenceModel, session: Session, limit: number | undefined): Promise<void> {
  const listed: string[] = [];
  let cursor: string | undefined;
  const most =
    Math.ceil((model.items.size + model.listable().unseen.length + 1) / (limit ?? MODEL_LIMITS.defaultPageSize)) + 3;
  for (let page = 0; page < most; page++) {
    const query: [string, string][] = [
      ...(limit === undefined ? [] : ([["limit", String(limit)]] as [string, string][])),
      ...(cursor === undefined ? [] : ([["cursor", cursor]] as [string, string][])),
    ];
    const observed = await exchange(session, model, request("GET", "/items", keyHeader(model), undefined, query), {
      continued: cursor !== undefined,
    });
    listed.push(...(observed.json.items as { id: string }[]).map((item) => item.id));
    cursor = observed.json.nextCursor as string | undefined;
    if (cursor === undefined) {
      const problems = model.endWalk(listed);
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
  body: BodyRecipe,
  copies: number,
): Promise<void> {
  const sent = request(
    "POST",
    "/items",
    [...keyHeader(model), ["Idempotency-Key", `together-${Date.now()}-${Math.random()}`]],
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
      const label = `crash ${session.runTag} ${index}-${sequence}`;
      const sent = request(
        "POST",
        "/items",
        [
          ...keyHeader(model),
          ...(keyed
            ? ([["Idempotency-Key", `crash-${session.runTag}-${index}-${sequence}`]] as [string, string][])
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
    model.cutCreate(sent, [sentAt, killedAt], `step ${step}`);
  }
  await session.restart(
    model,
    cut.map(({ step }) => step),
    [killedAt],
  );
}
