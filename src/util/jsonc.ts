// JSON with comments (JSONC, as VS Code and tsconfig accept): `//` line and `/* */` block comments and trailing
// commas before `}` or `]`, outside strings. `parseJsonc` blanks them out (keeping every line and column where it
// was), parses the rest as JSON, and turns a syntax error's character offset into "line L, column C".

export class JsoncError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = "JsoncError";
  }
}

/** The text with comments and trailing commas replaced by spaces (newlines kept), so offsets are unchanged. */
export function stripJsonc(text: string): string {
  const out = text.split("");
  let i = 0;
  const n = text.length;
  let lastComma = -1; // index of a comma not yet followed by a significant character
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      lastComma = -1;
      for (i++; i < n && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      i++;
      continue;
    }
    if (c === "/" && text[i + 1] === "/") {
      for (; i < n && text[i] !== "\n"; i++) out[i] = " ";
      continue;
    }
    if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) if (text[i] !== "\n") out[i] = " ";
      continue;
    }
    if (c === ",") lastComma = i;
    else if (c === "}" || c === "]") {
      if (lastComma >= 0) out[lastComma] = " ";
      lastComma = -1;
    } else if (!/\s/.test(c)) lastComma = -1;
    i++;
  }
  return out.join("");
}

/** Line and column (1-based) of character offset `pos` in `text`. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < pos && i < text.length; i++) if (text[i] === "\n") (line++, (start = i + 1));
  return { line, column: pos - start + 1 };
}

/** Parse JSONC; a syntax error becomes a JsoncError naming the line and column. */
export function parseJsonc(text: string): unknown {
  const clean = stripJsonc(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  try {
    return JSON.parse(clean);
  } catch (e) {
    // Engines word (and locate) JSON errors differently; find the first bad character ourselves.
    const { pos, what } = firstError(clean);
    const { line, column } = lineColumn(clean, pos);
    throw new JsoncError(`line ${line}, column ${column}: ${what}`, line, column);
  }
}

/**
 * Where strict JSON (RFC 8259) first fails in `t`, by a recursive-descent scan that builds nothing: the offset and
 * what was expected there. Only called after JSON.parse has failed.
 */
function firstError(t: string): { pos: number; what: string } {
  let i = 0;
  const n = t.length;
  class Stop {
    constructor(readonly pos: number, readonly what: string) {}
  }
  const fail = (what: string): never => {
    throw new Stop(i, i >= n ? `unexpected end of input; ${what}` : `unexpected ${JSON.stringify(t[i])}; ${what}`);
  };
  const ws = () => {
    while (i < n && (t[i] === " " || t[i] === "\t" || t[i] === "\n" || t[i] === "\r")) i++;
  };
  const str = () => {
    i++;
    for (;;) {
      if (i >= n) fail("expected the closing quote of a string");
      const c = t.charCodeAt(i);
      if (c === 34) return void i++;
      if (c < 32) fail("control characters must be escaped in strings");
      if (c === 92) {
        i++;
        if (t[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) fail("expected 4 hex digits after \\u");
          i += 5;
        } else if (i < n && '"\\/bfnrt'.includes(t[i])) i++;
        else fail("expected an escape character");
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(i));
    if (!m) fail("expected a number");
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === "{") {
      i++;
      ws();
      if (t[i] === "}") return void i++;
      for (;;) {
        ws();
        if (t[i] !== '"') fail("expected a property name in double quotes");
        str();
        ws();
        if (t[i] !== ":") fail('expected ":" after the property name');
        i++;
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "}") return void i++;
        else fail('expected "," or "}"');
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (t[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (t[i] === ",") i++;
        else if (t[i] === "]") return void i++;
        else fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    for (const word of ["true", "false", "null"]) if (t.startsWith(word, i)) return void (i += word.length);
    fail("expected a value (object, array, string, number, true, false or null)");
  };
  try {
    value();
    ws();
    if (i < n) fail("expected the end of the input after the value");
    return { pos: n, what: "not valid JSON" };
  } catch (e) {
    if (e instanceof Stop) return { pos: e.pos, what: e.what };
    throw e;
  }
}
