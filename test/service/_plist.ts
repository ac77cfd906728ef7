// A strict reader of XML property lists for the tests: the prolog and doctype,
// then plist > dict with key/string/integer/true/false/array/dict. It fails on
// anything else (an unknown or unclosed tag, a stray character, a bad entity),
// so a plist it reads is well-formed for launchd's purposes.

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&([a-z]+);|&/g, (m, name: string | undefined) => {
    const e = name === undefined ? undefined : entities[name];
    if (e === undefined) throw new Error(`bad entity near ${m}`);
    return e;
  });
}

export function parsePlist(xml: string): PlistValue {
  let rest = xml.replace(/^<\?xml [^?]*\?>\s*/, "").replace(/^<!DOCTYPE plist [^>]*>\s*/, "");
  rest = rest.replace(/<!--[\s\S]*?-->\s*/g, "");
  const m = /^<plist version="1\.0">\s*([\s\S]*)<\/plist>\s*$/.exec(rest);
  if (!m) throw new Error("not a plist document");
  const { value, tail } = readValue(m[1]!);
  if (tail.trim() !== "") throw new Error(`trailing content: ${tail.slice(0, 40)}`);
  return value;
}

function readValue(s: string): { value: PlistValue; tail: string } {
  s = s.trimStart();
  const leaf = /^<(string|integer)>([^<]*)<\/\1>/.exec(s);
  if (leaf) {
    const text = decode(leaf[2]!);
    if (leaf[1] === "integer" && !/^-?\d+$/.test(text)) throw new Error(`bad integer ${text}`);
    return { value: leaf[1] === "integer" ? Number(text) : text, tail: s.slice(leaf[0].length) };
  }
  const bool = /^<(true|false)\/>/.exec(s);
  if (bool) return { value: bool[1] === "true", tail: s.slice(bool[0].length) };
  if (s.startsWith("<array>")) return readArray(s.slice(7));
  if (s.startsWith("<dict>")) return readDict(s.slice(6));
  throw new Error(`unexpected content: ${s.slice(0, 40)}`);
}

function readArray(s: string): { value: PlistValue[]; tail: string } {
  const items: PlistValue[] = [];
  for (;;) {
    s = s.trimStart();
    if (s.startsWith("</array>")) return { value: items, tail: s.slice(8) };
    const { value, tail } = readValue(s);
    items.push(value);
    s = tail;
  }
}

function readDict(s: string): { value: Record<string, PlistValue>; tail: string } {
  const dict: Record<string, PlistValue> = {};
  for (;;) {
    s = s.trimStart();
    if (s.startsWith("</dict>")) return { value: dict, tail: s.slice(7) };
    const key = /^<key>([^<]*)<\/key>/.exec(s);
    if (!key) throw new Error(`expected a key: ${s.slice(0, 40)}`);
    const name = decode(key[1]!);
    if (name in dict) throw new Error(`duplicate key ${name}`);
    const { value, tail } = readValue(s.slice(key[0].length));
    dict[name] = value;
    s = tail;
  }
}
