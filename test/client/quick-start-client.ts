/**
 * The README's quick start, written as a user of a generated client would: openapi-fetch over the
 * types openapi-typescript generates from the document (items-api.d.ts, `npm run client:types`).
 * `npm run typecheck` compiles it against the committed types; client.test.ts compiles it against
 * freshly generated ones and runs it against the local runtime.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./items-api";

export type Item = components["schemas"]["Item"];
export type ItemList = components["schemas"]["ItemList"];

/** One call of the flow as the client saw it: the status, the headers the contract names, the body. */
export interface Answer {
  call: string;
  status: number;
  etag: string | null;
  location: string | null;
  /** `x-amz-apigw-id`, on every response (also `requestId` in error bodies). */
  requestId: string | null;
  body: unknown;
}

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Runs the flow and returns what every call answered, in order. */
export async function quickStart(
  baseUrl: string,
  options: { idempotencyKey: string; apiKey?: string; token?: string },
): Promise<Answer[]> {
  const api = createClient<paths>({
    baseUrl,
    headers: {
      ...(options.apiKey === undefined ? {} : { "x-api-key": options.apiKey }),
      // A signed-in user's ID token, as it is (`npm run -s token -- --user alice` locally).
      ...(options.token === undefined ? {} : { Authorization: options.token }),
    },
  });
  const answers: Answer[] = [];
  function record<T>(call: string, result: Result<T>): Result<T> {
    const { data, error, response } = result;
    const headers = response.headers;
    // openapi-fetch reads an error's body as text first: a 304's empty body is "".
    const body = data ?? (error === "" ? undefined : error);
    answers.push({
      call,
      status: response.status,
      etag: headers.get("ETag"),
      location: headers.get("Location"),
      requestId: headers.get("x-amz-apigw-id"),
      body,
    });
    return result;
  }
  /** Records the answer and returns its data; a call the flow needs data from and got none from throws. */
  function dataOf<T>(call: string, result: Result<T>): T {
    const { data, response } = record(call, result);
    if (data === undefined) {
      throw new Error(`${call} answered ${response.status}: ${JSON.stringify(result.error)}`);
    }
    return data;
  }

  // createItem: the item the rest of the flow works on.
  const espresso: Item = dataOf(
    "createItem",
    await api.POST("/items", { body: { name: "Espresso machine", status: "in-stock", data: { boilers: 2 } } }),
  );
  const item = { path: { id: espresso.id } };

  // createItem with an Idempotency-Key, then its retry: the first 201 again, one stored item.
  const keyed = {
    params: { header: { "Idempotency-Key": options.idempotencyKey } },
    body: { name: "Grinder", status: "ordered" },
  };
  record("createItem keyed", await api.POST("/items", keyed));
  record("createItem keyed retry", await api.POST("/items", keyed));
  record("createItem", await api.POST("/items", { body: { name: "Milk jug" } }));

  // listItems: every page of two, passing nextCursor back until a page has none.
  let cursor: string | undefined;
  do {
    const page: ItemList = dataOf("listItems", await api.GET("/items", { params: { query: { limit: 2, cursor } } }));
    cursor = page.nextCursor;
  } while (cursor !== undefined);

  // getItem, then again with its ETag: 304 Not Modified.
  const fetched = record("getItem", await api.GET("/items/{id}", { params: item }));
  const etag = fetched.response.headers.get("ETag") ?? "";
  record(
    "getItem If-None-Match",
    await api.GET("/items/{id}", { params: { ...item, header: { "If-None-Match": etag } } }),
  );

  // replaceItem if still the version read; patchItem as a JSON Merge Patch (null removes status).
  record(
    "replaceItem",
    await api.PUT("/items/{id}", {
      params: { ...item, header: { "If-Match": etag } },
      body: { name: "Espresso machine", description: "Dual boiler", status: "sold" },
    }),
  );
  const patched: Item = dataOf(
    "patchItem",
    await api.PATCH("/items/{id}", {
      params: item,
      headers: { "Content-Type": "application/merge-patch+json" },
      body: { status: null, data: { boilers: 1, color: "steel" } },
    }),
  );

  // deleteItem if still the patched version; then the item is gone.
  const current = `"${patched.version}"`;
  record("deleteItem", await api.DELETE("/items/{id}", { params: { ...item, header: { "If-Match": current } } }));
  record("getItem deleted", await api.GET("/items/{id}", { params: item }));
  return answers;
}
