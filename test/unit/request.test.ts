/** handlers/request.ts: headers, path id, conditional headers, JSON body and base URL. */
import { expect } from "chai";
import {
  MAX_BODY_BYTES,
  MAX_IF_MATCH_TAGS,
  baseUrlOf,
  headerOf,
  failedPrecondition,
  isConditional,
  preconditionsOf,
  itemIdOf,
  jsonBodyOf,
  parseEntityTags,
} from "../../handlers/request";
import { parseQuery } from "../../handlers/fields";
import { parseItemInput } from "../../handlers/model";
import { ITEM_PATCH_MEDIA_TYPES, NEW_ITEM_MEDIA_TYPES } from "../../handlers/operations";
import { EventParts, expectHttpError, proxyEvent } from "./fixtures";

const UNSUPPORTED = "the request body must be JSON sent as application/merge-patch+json or application/json (UTF-8)";
const TOO_LARGE = "the request body must be at most 65536 bytes";
const NOT_JSON = "the request body is not valid JSON";
const EMPTY = "the request body is empty; send a JSON object";
const NOT_UTF8 = "the request body is not valid UTF-8";
const NUMBER_RULE =
  "numbers must be integers of magnitude at most 9007199254740991 (2^53 - 1), or other numbers of magnitude at least 1e-130";
const ID = "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c11";

const strong = (opaque: string) => ({ weak: false, opaque });
const weak = (opaque: string) => ({ weak: true, opaque });

/** The body as PATCH reads it: the widest list of media types any operation accepts. */
const bodyOf = (event: ReturnType<typeof proxyEvent>): unknown => jsonBodyOf(event, ITEM_PATCH_MEDIA_TYPES);

const withBody = (body: string | null, contentType?: string, extra: EventParts = {}): ReturnType<typeof proxyEvent> =>
  proxyEvent({ body, headers: contentType === undefined ? {} : { "Content-Type": contentType }, ...extra });

/** A JSON object body of exactly `bytes` UTF-8 bytes. */
function bodyOfBytes(bytes: number): string {
  const skeleton = '{"name":"n","pad":""}';
  const body = `{"name":"n","pad":"${"x".repeat(bytes - skeleton.length)}"}`;
  expect(Buffer.byteLength(body)).to.equal(bytes);
  return body;
}

describe("handlers/request", () => {
  describe("jsonBodyOf", () => {
    it("parses a JSON body sent with a JSON media type", () => {
      const accepted = [
        "application/json",
        "Application/JSON",
        "application/merge-patch+json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/merge-patch+json; charset=utf-8",
        "application/json; version=2",
      ];
      for (const contentType of accepted) {
        expect(bodyOf(withBody('{"name":"n","tags":[1,null]}', contentType)), contentType).to.deep.equal({
          name: "n",
          tags: [1, null],
        });
      }
    });

    it("finds Content-Type whatever its casing", () => {
      for (const header of ["content-type", "Content-Type", "CONTENT-TYPE"]) {
        expect(bodyOf(proxyEvent({ body: "{}", headers: { [header]: "application/json" } }))).to.deep.equal({});
      }
    });

    it("answers 415 without a JSON media type", () => {
      const refused: Array<string | undefined> = [
        undefined,
        "",
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/json, text/plain",
        "json",
        "application/vnd.items+json",
        "application/problem+json",
      ];
      for (const contentType of refused) {
        expectHttpError(() => bodyOf(withBody("{}", contentType)), 415, "unsupported_media_type", UNSUPPORTED);
      }
    });

    it("accepts exactly the operation's media types", () => {
      expect(jsonBodyOf(withBody("{}", "application/json"), NEW_ITEM_MEDIA_TYPES)).to.deep.equal({});
      expectHttpError(
        () => jsonBodyOf(withBody("{}", "application/merge-patch+json"), NEW_ITEM_MEDIA_TYPES),
        415,
        "unsupported_media_type",
        "the request body must be JSON sent as application/json (UTF-8)",
      );
    });

    it("answers 415 for a charset other than UTF-8", () => {
      for (const contentType of [
        "application/json; charset=latin1",
        "application/json; charset = latin1",
        "application/json;charset =utf-16",
        "application/json; charset=iso-8859-1",
        "application/json; charset=utf-16",
        "application/merge-patch+json; charset=us-ascii",
        "application/json; charset=utf-8; charset=latin1",
      ]) {
        expectHttpError(() => bodyOf(withBody("{}", contentType)), 415, "unsupported_media_type", UNSUPPORTED);
      }
    });

    it("answers 413 over 65536 bytes and accepts exactly 65536", () => {
      expect(MAX_BODY_BYTES).to.equal(65536);
      expect(bodyOf(withBody(bodyOfBytes(65536), "application/json"))).to.have.property("name", "n");
      expectHttpError(
        () => bodyOf(withBody(bodyOfBytes(65537), "application/json")),
        413,
        "payload_too_large",
        TOO_LARGE,
      );
    });

    it("counts bytes, not characters", () => {
      // 21,846 euro signs are 65,538 UTF-8 bytes in fewer than 22,000 characters.
      const body = `"${"€".repeat(21846)}"`;
      expect(body.length).to.be.lessThan(22000);
      expectHttpError(() => bodyOf(withBody(body, "application/json")), 413, "payload_too_large", TOO_LARGE);
    });

    it("decodes base64 bodies and limits their decoded size", () => {
      const encode = (text: string): string => Buffer.from(text, "utf8").toString("base64");
      const base64 = (text: string): ReturnType<typeof proxyEvent> =>
        withBody(encode(text), "application/json", { isBase64Encoded: true });
      expect(bodyOf(base64('{"name":"é"}'))).to.deep.equal({ name: "é" });
      // 65536 bytes are 87,384 base64 characters: the decoded size is what counts.
      expect(encode(bodyOfBytes(65536)).length).to.be.greaterThan(65536);
      expect(bodyOf(base64(bodyOfBytes(65536)))).to.have.property("name", "n");
      expectHttpError(() => bodyOf(base64(bodyOfBytes(65537))), 413, "payload_too_large", TOO_LARGE);
    });

    it("answers 400 malformed_json for bytes that are not UTF-8, never replacing them", () => {
      const base64 = (bytes: Buffer): ReturnType<typeof proxyEvent> =>
        withBody(bytes.toString("base64"), "application/json", { isBase64Encoded: true });
      const invalid = [
        Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]),
        Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]), // overlong "/"
        Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), // an encoded surrogate
        Buffer.from([0x22, 0xf0, 0x9f, 0x98, 0x22]), // a truncated 4-byte sequence
      ];
      for (const bytes of invalid) {
        expectHttpError(() => bodyOf(base64(bytes)), 400, "malformed_json", NOT_UTF8);
      }
      expect(bodyOf(base64(Buffer.from('{"name":"café 😀"}')))).to.deep.equal({ name: "café 😀" });
    });

    it("answers 400 malformed_json for a text body holding an unpaired surrogate", () => {
      for (const body of ['{"name":"\ud800"}', '{"name":"a\udc00b"}', '"\ud83d"']) {
        expectHttpError(() => bodyOf(withBody(body, "application/json")), 400, "malformed_json", NOT_UTF8);
      }
      // Escaped in JSON, a lone surrogate is valid text: JSON.parse decides what it means.
      expect(bodyOf(withBody('{"name":"\\ud83d\\ude00"}', "application/json"))).to.deep.equal({ name: "😀" });
    });

    it("measures the bytes received: 65536 bytes of invalid UTF-8 are 400, not 413", () => {
      const bytes = Buffer.alloc(MAX_BODY_BYTES, 0xe9);
      expectHttpError(
        () => bodyOf(withBody(bytes.toString("base64"), "application/json", { isBase64Encoded: true })),
        400,
        "malformed_json",
        NOT_UTF8,
      );
    });

    it("answers 400 for a number too small for a double, which JSON.parse would read as 0", () => {
      for (const literal of ["1e-400", "-2.5e-999", "0.0001e-330"]) {
        expectHttpError(
          () => bodyOf(withBody(`{"name":"n","a":[1,{"b":${literal}}]}`, "application/json")),
          400,
          "validation_failed",
          `the number ${literal} cannot be stored: ${NUMBER_RULE}`,
        );
      }
      const zeros = '{"name":"1e-400","a":[0,-0,0.0,0e-400,-0.000E+5],"b":"\\"1e-400"}';
      expect(bodyOf(withBody(zeros, "application/json"))).to.deep.equal({
        name: "1e-400",
        a: [0, -0, 0, 0, -0],
        b: '"1e-400',
      });
    });

    it("answers 400 malformed_json for an empty body", () => {
      for (const body of [null, "", "   ", "\n\t "]) {
        expectHttpError(() => bodyOf(withBody(body, "application/json")), 400, "malformed_json", EMPTY);
      }
    });

    it("answers 400 malformed_json for a body that is not JSON", () => {
      for (const body of [
        "{",
        "{'name':'n'}",
        '{"name":"n",}',
        "undefined",
        "NaN",
        "{name: 1}",
        "\uFEFF{}",
        '{"a":1}x',
      ]) {
        expectHttpError(() => bodyOf(withBody(body, "application/json")), 400, "malformed_json", NOT_JSON);
      }
    });

    it("returns other JSON values as they are (the item parsers refuse them)", () => {
      expect(bodyOf(withBody("[1]", "application/json"))).to.deep.equal([1]);
      expect(bodyOf(withBody("null", "application/json"))).to.equal(null);
      expect(bodyOf(withBody(' "s" ', "application/json"))).to.equal("s");
    });

    it("refuses __proto__, constructor and prototype keys at any depth with 400 validation_failed", () => {
      const cases: Array<[string, string]> = [
        ['{"__proto__":{"admin":true}}', "__proto__"],
        ['{"name":"n","a":{"b":{"__proto__":{}}}}', "__proto__"],
        ['{"constructor":{"prototype":{"x":1}}}', "prototype"],
        ['{"name":"n","constructor":1}', "constructor"],
        ['{"list":[{"prototype":null}]}', "prototype"],
      ];
      for (const [body, key] of cases) {
        expectHttpError(
          () => bodyOf(withBody(body, "application/json")),
          400,
          "validation_failed",
          `the property name ${key} is not allowed`,
        );
      }
    });

    // JSON.parse with a reviver recurses once per nesting level; about 2,700 levels (a 5.5 KB
    // body) would overflow the stack (500). A body within the 64 KiB limit must get a 4xx.
    it("answers 400 for a body nested 20,000 levels deep, not a stack overflow (500)", () => {
      const body = `{"name":"n","a":${"[".repeat(20000)}${"]".repeat(20000)}}`;
      expect(Buffer.byteLength(body)).to.be.lessThan(MAX_BODY_BYTES);
      expectHttpError(() => parseItemInput(bodyOf(withBody(body, "application/json"))), 400, "validation_failed");
    });

    it("keeps keys that merely contain those words", () => {
      const body = '{"proto":1,"__proto":2,"constructors":3,"myPrototype":4}';
      expect(bodyOf(withBody(body, "application/json"))).to.deep.equal({
        proto: 1,
        __proto: 2,
        constructors: 3,
        myPrototype: 4,
      });
    });
  });

  describe("parseEntityTags", () => {
    const INVALID_IF_MATCH = 'If-Match must be * or a list of entity tags such as "3"';

    it("is undefined without the header", () => {
      expect(parseEntityTags(undefined, "If-Match")).to.equal(undefined);
    });

    it("reads * as any", () => {
      for (const header of ["*", "  *  "]) {
        expect(parseEntityTags(header, "If-Match")).to.deep.equal({ any: true });
      }
    });

    it("reads entity tags as opaque text, weak or strong, in lists (RFC 9110 §8.8.3)", () => {
      expect(parseEntityTags('"3"', "If-Match")).to.deep.equal({ any: false, tags: [strong("3")] });
      expect(parseEntityTags(' "1", W/"22" ,"333"', "If-Match")).to.deep.equal({
        any: false,
        tags: [strong("1"), weak("22"), strong("333")],
      });
      // Any etagc is allowed: digits with leading zeros, letters, nothing, a comma, obs-text.
      expect(parseEntityTags('"01", "abc", "", "a,b", "caf\u00e9", "!#~"', "If-Match")).to.deep.equal({
        any: false,
        tags: [strong("01"), strong("abc"), strong(""), strong("a,b"), strong("caf\u00e9"), strong("!#~")],
      });
    });

    it("ignores empty list elements (RFC 9110 §5.6.1)", () => {
      expect(parseEntityTags(', "1",, \t"2" ,', "If-Match")).to.deep.equal({
        any: false,
        tags: [strong("1"), strong("2")],
      });
    });

    it("answers 400 for anything else, naming the header", () => {
      const invalid = [
        "",
        " , ",
        "3",
        "W/3",
        'w/"3"',
        'W /"3"',
        '*, "1"',
        "'3'",
        '"3"x',
        '"3" "4"',
        '"3',
        '"a"b"',
        '"tab\t"',
        '"space "',
      ];
      for (const header of invalid) {
        expectHttpError(() => parseEntityTags(header, "If-Match"), 400, "validation_failed", INVALID_IF_MATCH);
      }
      expectHttpError(
        () => parseEntityTags("nope", "If-None-Match"),
        400,
        "validation_failed",
        'If-None-Match must be * or a list of entity tags such as "3"',
      );
    });
  });

  describe("preconditionsOf", () => {
    const ifMatch = (value: string, header = "If-Match") =>
      preconditionsOf(proxyEvent({ headers: { [header]: value } })).ifMatch;
    const ifMatchLines = (lines: Record<string, string[]>) =>
      preconditionsOf({ ...proxyEvent({ headers: { "If-Match": "ignored" } }), multiValueHeaders: lines }).ifMatch;
    const versions = (...list: number[]) => ({ any: false, versions: list });

    it("is undefined without the headers, and `any` for *", () => {
      expect(preconditionsOf(proxyEvent())).to.deep.equal({ ifMatch: undefined, ifNoneMatch: undefined });
      expect(ifMatch("*")).to.deep.equal({ any: true });
    });

    it("lists the versions If-Match accepts, whatever the header's casing", () => {
      expect(ifMatch('"5"')).to.deep.equal(versions(5));
      expect(ifMatch('"5", "6"', "if-match")).to.deep.equal(versions(5, 6));
      expect(ifMatch('"7"', "IF-MATCH")).to.deep.equal(versions(7));
      expect(ifMatch('"7", "7"')).to.deep.equal(versions(7));
    });

    it("reads a version only from the exact text this API writes for one", () => {
      expect(ifMatch('"1"')).to.deep.equal(versions(1));
      expect(ifMatch('"9007199254740991"')).to.deep.equal(versions(9007199254740991));
      for (const opaque of ["01", "001", "0", "", "1.0", "1e2", "+1", "-1", "9007199254740992", "abc"]) {
        expect(ifMatch(`"${opaque}"`), opaque).to.deep.equal(versions());
      }
    });

    it('compares by character: "01" and "1.0" name no version, so they match nothing', () => {
      expect(ifMatch('"01"')).to.deep.equal(versions());
      expect(ifMatch('"01", "1.0", "abc", "2"')).to.deep.equal(versions(2));
    });

    it("lets a weak tag match nothing in If-Match (strong comparison) and match in If-None-Match (weak)", () => {
      expect(ifMatch('W/"5"')).to.deep.equal(versions());
      expect(ifMatch('W/"5", "6"', "If-None-Match")).to.equal(undefined);
      const both = preconditionsOf(
        proxyEvent({ headers: { "If-Match": 'W/"5", "6"', "If-None-Match": 'W/"5", "6"' } }),
      );
      expect(both).to.deep.equal({ ifMatch: versions(6), ifNoneMatch: versions(5, 6) });
    });

    it("reads one list from repeated lines (the event's multiValueHeaders)", () => {
      expect(ifMatchLines({ "If-Match": ['"1"', '"2", "3"'] })).to.deep.equal(versions(1, 2, 3));
      expect(ifMatchLines({ "If-Match": ['"1"'], "if-match": ['"4"'] })).to.deep.equal(versions(1, 4));
      expectHttpError(
        () => ifMatchLines({ "If-Match": ["*", '"1"'] }),
        400,
        "validation_failed",
        'If-Match must be * or a list of entity tags such as "3"',
      );
      const event = {
        ...proxyEvent({ headers: { "If-None-Match": '"9"' } }),
        multiValueHeaders: { "If-None-Match": ['W/"1"', '"002"'] },
      };
      expect(preconditionsOf(event).ifNoneMatch).to.deep.equal(versions(1));
    });

    it(`accepts ${MAX_IF_MATCH_TAGS} entity tags in each header and answers 400 for more (DynamoDB's IN takes 100 operands)`, () => {
      const tags = (count: number): string => Array.from({ length: count }, (_, index) => `"${index + 1}"`).join(", ");
      expect(MAX_IF_MATCH_TAGS).to.equal(100);
      expect((ifMatch(tags(100)) as { versions: number[] }).versions).to.have.length(100);
      expectHttpError(() => ifMatch(tags(101)), 400, "validation_failed", "If-Match may list at most 100 entity tags");
      expectHttpError(
        () => ifMatch(tags(101), "If-None-Match"),
        400,
        "validation_failed",
        "If-None-Match may list at most 100 entity tags",
      );
      expectHttpError(
        () => ifMatchLines({ "If-Match": [tags(60), tags(90)] }),
        400,
        "validation_failed",
        "If-Match may list at most 100 entity tags",
      );
    });

    it("answers 400 for a malformed header", () => {
      expectHttpError(
        () => ifMatch("5"),
        400,
        "validation_failed",
        'If-Match must be * or a list of entity tags such as "3"',
      );
      expectHttpError(
        () => ifMatch("5", "If-None-Match"),
        400,
        "validation_failed",
        'If-None-Match must be * or a list of entity tags such as "3"',
      );
    });
  });

  describe("failedPrecondition (RFC 9110 §13.2.2)", () => {
    const pre = (ifMatchValue?: string, ifNoneMatchValue?: string) =>
      preconditionsOf(
        proxyEvent({
          headers: {
            ...(ifMatchValue === undefined ? {} : { "If-Match": ifMatchValue }),
            ...(ifNoneMatchValue === undefined ? {} : { "If-None-Match": ifNoneMatchValue }),
          },
        }),
      );

    it("evaluates If-Match first, then If-None-Match", () => {
      expect(failedPrecondition(pre(), 3)).to.equal(undefined);
      expect(failedPrecondition(pre('"3"'), 3)).to.equal(undefined);
      expect(failedPrecondition(pre('"2"'), 3)).to.equal("If-Match");
      expect(failedPrecondition(pre('"2"', "*"), 3)).to.equal("If-Match");
      expect(failedPrecondition(pre('"3"', '"3"'), 3)).to.equal("If-None-Match");
      expect(failedPrecondition(pre(undefined, 'W/"3"'), 3)).to.equal("If-None-Match");
      expect(failedPrecondition(pre(undefined, '"4"'), 3)).to.equal(undefined);
      expect(failedPrecondition(pre("*", "*"), 3)).to.equal("If-None-Match");
    });

    it("takes a resource without entity tag (the collection) as existing and matching no tag", () => {
      expect(failedPrecondition(pre("*"), undefined)).to.equal(undefined);
      expect(failedPrecondition(pre('"1"'), undefined)).to.equal("If-Match");
      expect(failedPrecondition(pre(undefined, "*"), undefined)).to.equal("If-None-Match");
      expect(failedPrecondition(pre(undefined, '"1"'), undefined)).to.equal(undefined);
    });

    it("tells which preconditions can fail for an existing item", () => {
      expect(isConditional(pre())).to.equal(false);
      expect(isConditional(pre("*"))).to.equal(false);
      expect(isConditional(pre(undefined, '"abc"'))).to.equal(false);
      expect(isConditional(pre('W/"1"'))).to.equal(true);
      expect(isConditional(pre(undefined, "*"))).to.equal(true);
      expect(isConditional(pre(undefined, '"1"'))).to.equal(true);
    });
  });

  describe("itemIdOf", () => {
    it("returns a lowercase UUID", () => {
      expect(itemIdOf(proxyEvent({ pathParameters: { id: ID } }))).to.equal(ID);
    });

    it("answers 404 for anything that cannot be a server-made id", () => {
      const ids = [
        "",
        "1",
        ID.toUpperCase(),
        ID.replace(/-/g, ""),
        `${ID}0`,
        `${ID}\n`,
        ` ${ID}`,
        `{${ID}}`,
        "../items",
        "0b6b7d53-3c5e-4d8e-9d55-7f4a0a5c9c1g",
      ];
      for (const id of ids) {
        expectHttpError(() => itemIdOf(proxyEvent({ pathParameters: { id } })), 404, "not_found", "item not found");
      }
      expectHttpError(() => itemIdOf(proxyEvent({ pathParameters: null })), 404, "not_found", "item not found");
      expectHttpError(
        () => itemIdOf(proxyEvent({ pathParameters: { other: ID } })),
        404,
        "not_found",
        "item not found",
      );
    });
  });

  describe("headerOf", () => {
    it("looks headers up case-insensitively", () => {
      const event = proxyEvent({ headers: { "X-Custom": "1" } });
      expect(headerOf(event, "x-custom")).to.equal("1");
      expect(headerOf(event, "X-CUSTOM")).to.equal("1");
      expect(headerOf(event, "x-other")).to.equal(undefined);
    });
  });

  describe("parseQuery (handlers/fields.ts)", () => {
    const withQuery = (query: Record<string, string>) => ({ ...proxyEvent(), queryStringParameters: query });

    it("gives an operation exactly its parameters, each validated, the fallback where absent", () => {
      expect(parseQuery(withQuery({ limit: "5", cursor: "abc", other: "x" }), "listItems")).to.deep.equal({
        limit: 5,
        cursor: "abc",
      });
      expect(parseQuery(proxyEvent(), "listItems")).to.deep.equal({ limit: 20, cursor: undefined });
      expect(parseQuery(withQuery({ limit: "5" }), "getItem")).to.deep.equal({});
    });

    it("takes a limit of digits from 1 to 100 and refuses any other", () => {
      expect(["1", "100", "007"].map((limit) => parseQuery(withQuery({ limit }), "listItems").limit)).to.deep.equal([
        1, 100, 7,
      ]);
      for (const limit of ["0", "101", "", "+1", "1.0", "1e1", "-1", " 5", "99999999999999999999", "ten"]) {
        expectHttpError(
          () => parseQuery(withQuery({ limit }), "listItems"),
          400,
          "validation_failed",
          "limit must be an integer from 1 to 100",
        );
      }
    });
  });

  describe("baseUrlOf", () => {
    const domainName = "abc123.execute-api.eu-west-1.amazonaws.com";

    it("keeps the stage prefix of the path the client called", () => {
      expect(baseUrlOf(proxyEvent({ domainName, path: "/items", fullPath: "/dev/items" }))).to.equal(
        `https://${domainName}/dev/`,
      );
      expect(baseUrlOf(proxyEvent({ domainName, path: `/items/${ID}`, fullPath: `/prod/items/${ID}` }))).to.equal(
        `https://${domainName}/prod/`,
      );
    });

    it("keeps a custom domain's base path, and has none without one", () => {
      const domain = "api.example.com";
      expect(baseUrlOf(proxyEvent({ domainName: domain, path: "/items", fullPath: "/v1/items" }))).to.equal(
        "https://api.example.com/v1/",
      );
      expect(baseUrlOf(proxyEvent({ domainName: domain, path: "/items", fullPath: "/items" }))).to.equal(
        "https://api.example.com/",
      );
    });

    it("takes no text from the client: the domain is the request context's, the scheme https or http", () => {
      const forged = { Host: "evil.example", "x-forwarded-proto": "javascript", "X-Forwarded-Host": "evil.example" };
      expect(baseUrlOf(proxyEvent({ domainName, headers: forged, path: "/items", fullPath: "/dev/items" }))).to.equal(
        `https://${domainName}/dev/`,
      );
      expect(
        baseUrlOf(
          proxyEvent({ domainName: "127.0.0.1:3000", headers: { "X-Forwarded-Proto": "http" }, path: "/items" }),
        ),
      ).to.equal("http://127.0.0.1:3000/");
    });
  });
});
