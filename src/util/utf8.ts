// UTF-8 without the host's TextEncoder/TextDecoder: JavaScript shells (jsc, SpiderMonkey's js) and some embedders have
// neither, and the ONNX reader/writer must run everywhere the kernels do. Behaviour follows the WHATWG Encoding
// standard: encoding replaces lone surrogates with U+FFFD (as TextEncoder does); strict decoding rejects exactly what
// `new TextDecoder("utf-8", { fatal: true })` rejects (overlong forms, surrogates, code points above U+10FFFF,
// truncated or stray continuation bytes) and, like it, drops a leading byte-order mark (test/util/utf8.test.ts
// compares both on random and edge-case bytes).

/** The UTF-8 bytes of `s` (lone surrogates become U+FFFD, as with TextEncoder). */
export function utf8Encode(s: string): Uint8Array {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) (n += 4), i++;
    else n += 3; // BMP, or a lone surrogate → U+FFFD (3 bytes)
  }
  const out = new Uint8Array(n);
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[j++] = c;
      continue;
    }
    if (c < 0x800) {
      out[j++] = 0xc0 | (c >> 6);
      out[j++] = 0x80 | (c & 63);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[j++] = 0xf0 | (cp >> 18);
        out[j++] = 0x80 | ((cp >> 12) & 63);
        out[j++] = 0x80 | ((cp >> 6) & 63);
        out[j++] = 0x80 | (cp & 63);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    out[j++] = 0xe0 | (c >> 12);
    out[j++] = 0x80 | ((c >> 6) & 63);
    out[j++] = 0x80 | (c & 63);
  }
  return out;
}

/** Thrown by utf8DecodeStrict: `at` is the offset of the first byte of the invalid sequence. */
export class Utf8Error extends Error {
  constructor(readonly at: number) {
    super(`invalid UTF-8 at byte ${at}`);
    this.name = "Utf8Error";
  }
}

/** Decode UTF-8 strictly (TextDecoder's fatal mode, BOM dropped); invalid input throws a Utf8Error. */
export function utf8DecodeStrict(b: Uint8Array): string {
  const n = b.length;
  let i = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  let out = "";
  const units: number[] = [];
  const flush = () => {
    out += String.fromCharCode.apply(null, units);
    units.length = 0;
  };
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      units.push(c);
      i++;
    } else {
      // lead byte → sequence length and the allowed range of the first continuation byte (WHATWG decoder)
      let need: number, lo = 0x80, hi = 0xbf, cp: number;
      if (c >= 0xc2 && c <= 0xdf) (need = 1), (cp = c & 0x1f);
      else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0xf;
        if (c === 0xe0) lo = 0xa0; // no overlongs
        if (c === 0xed) hi = 0x9f; // no surrogates
      } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x7;
        if (c === 0xf0) lo = 0x90; // no overlongs
        if (c === 0xf4) hi = 0x8f; // ≤ U+10FFFF
      } else throw new Utf8Error(i);
      for (let k = 1; k <= need; k++) {
        const d = b[i + k];
        const min = k === 1 ? lo : 0x80, max = k === 1 ? hi : 0xbf;
        if (i + k >= n || d < min || d > max) throw new Utf8Error(i); // truncated or not a continuation
        cp = (cp << 6) | (d & 0x3f);
      }
      i += need + 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
    }
    if (units.length >= 8192) flush();
  }
  flush();
  return out;
}
