// A strict little parser for the Graphviz subset toDot writes (and a bit more): `digraph ID { stmt; … }` with node
// statements `ID [a=b, …]`, default-attribute statements `node|edge|graph [ … ]`, `a=b` graph attributes and edge
// chains `A -> B -> C [ … ]`. IDs are bare words/numbers or double-quoted strings with \" escapes. Anything else
// (an unterminated string, a missing brace, a stray token) throws, which is what the tests want to see.
export interface Dot {
  name: string;
  nodes: Map<string, Record<string, string>>;
  edges: [string, string][];
}

type Tok = { t: "id" | "str" | "sym"; v: string };

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) i++;
    else if (c === "/" && s[i + 1] === "/") while (i < s.length && s[i] !== "\n") i++;
    else if (c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= s.length) throw new Error("dot: unterminated string");
        if (s[i] === "\\" && i + 1 < s.length) {
          const e = s[i + 1];
          v += e === "n" ? "\n" : e;
          i += 2;
        } else if (s[i] === '"') {
          i++;
          break;
        } else v += s[i++];
      }
      out.push({ t: "str", v });
    } else if (c === "-" && s[i + 1] === ">") {
      out.push({ t: "sym", v: "->" });
      i += 2;
    } else if ("{}[]=;,".includes(c)) {
      out.push({ t: "sym", v: c });
      i++;
    } else {
      const m = /^[A-Za-z_0-9.#]+/.exec(s.slice(i));
      if (!m) throw new Error(`dot: unexpected character ${JSON.stringify(c)} at ${i}`);
      out.push({ t: "id", v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

export function parseDot(text: string): Dot {
  const toks = lex(text);
  let k = 0;
  const peek = () => toks[k];
  const next = () => {
    const t = toks[k++];
    if (!t) throw new Error("dot: unexpected end of input");
    return t;
  };
  const sym = (v: string) => {
    const t = next();
    if (t.t !== "sym" || t.v !== v) throw new Error(`dot: expected ${v}, found ${JSON.stringify(t.v)}`);
  };
  const id = () => {
    const t = next();
    if (t.t === "sym") throw new Error(`dot: expected an ID, found ${JSON.stringify(t.v)}`);
    return t.v;
  };
  const attrs = (): Record<string, string> => {
    const a: Record<string, string> = {};
    sym("[");
    while (!(peek()?.t === "sym" && peek().v === "]")) {
      const key = id();
      sym("=");
      a[key] = id();
      if (peek()?.t === "sym" && (peek().v === "," || peek().v === ";")) k++;
    }
    sym("]");
    return a;
  };
  const kw = next();
  if (kw.t !== "id" || kw.v !== "digraph") throw new Error(`dot: expected "digraph", found ${JSON.stringify(kw.v)}`);
  const name = peek()?.t !== "sym" ? id() : "";
  sym("{");
  const nodes = new Map<string, Record<string, string>>();
  const edges: [string, string][] = [];
  while (!(peek()?.t === "sym" && peek().v === "}")) {
    const first = id();
    if (peek()?.t === "sym" && peek().v === "=") {
      k++;
      id();
    } else if (["node", "edge", "graph"].includes(first) && peek()?.v === "[") attrs();
    else if (peek()?.t === "sym" && peek().v === "->") {
      const chain = [first];
      while (peek()?.t === "sym" && peek().v === "->") {
        k++;
        chain.push(id());
      }
      if (peek()?.v === "[") attrs();
      for (let j = 1; j < chain.length; j++) edges.push([chain[j - 1], chain[j]]);
    } else {
      const a = peek()?.v === "[" ? attrs() : {};
      if (nodes.has(first)) throw new Error(`dot: node ${first} is declared twice`);
      nodes.set(first, a);
    }
    if (peek()?.t === "sym" && peek().v === ";") k++;
  }
  sym("}");
  if (k !== toks.length) throw new Error(`dot: text after the closing brace`);
  return { name, nodes, edges };
}
