// JSONC configs: comments and trailing commas outside strings are blanked (offsets kept), everything else is JSON;
// a syntax error names its line and column.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseJsonc, stripJsonc, lineColumn, JsoncError } from "../../src/util/jsonc.ts";

test("comments and trailing commas are ignored; strings that contain them are not touched", () => {
  const text = `{
  // the model's name
  "name": "a // not a comment, /* nor this */", /* block
  comment */ "list": [1, 2, 3,],
  "obj": { "x": ",]", "y": [ ], },
  "esc": "quote \\" // still a string",
}`;
  assert.equal(parseJsonc(text), { name: "a // not a comment, /* nor this */", list: [1, 2, 3], obj: { x: ",]", y: [] }, esc: 'quote " // still a string' });
  // Blanking keeps every offset: the stripped text has the same length and the same newlines.
  const s = stripJsonc(text);
  assert.is(s.length, text.length);
  assert.equal([...s].map((c, i) => (c === "\n") === (text[i] === "\n")).every(Boolean), true);
  // A comma that is not trailing stays, so a missing value is still an error.
  assert.throws(() => parseJsonc("[1,,2]"), (e: unknown) => e instanceof JsoncError && /line 1, column 4: unexpected ","/.test((e as Error).message));
  assert.equal(parseJsonc('\ufeff{"a": 1}'), { a: 1 }, "a byte-order mark is skipped");
});

test("a syntax error gives line and column, independently computed", () => {
  const text = '{\n  "a": 1,\n  "b": tru\n}';
  try {
    parseJsonc(text);
    assert.unreachable("no error");
  } catch (e) {
    assert.instance(e, JsoncError);
    const err = e as JsoncError;
    // The error is at or just after "tru" on line 3.
    assert.is(err.line, 3, err.message);
    assert.ok(err.column >= 8 && err.column <= 11, err.message);
    assert.match(err.message, /^line 3, column \d+: /);
  }
  try {
    parseJsonc('{"a": [1, 2}');
    assert.unreachable("no error");
  } catch (e) {
    assert.is((e as JsoncError).line, 1);
  }
  assert.equal(lineColumn("ab\ncd\nef", 4), { line: 2, column: 2 });
  assert.equal(lineColumn("ab\ncd\nef", 0), { line: 1, column: 1 });
});

test.run();
