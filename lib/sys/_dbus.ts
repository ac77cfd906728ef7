// The little of the D-Bus wire format salty speaks to systemd over its private
// socket (/run/systemd/private, what systemctl itself uses as root): method
// calls with string and string-array arguments out, method returns and errors
// in, read for the types systemd's answers to ListUnitsByNames and
// Properties.Get use. Little-endian only (a big-endian answer is an error the
// caller turns into "ask systemctl"). Pure: bytes in, bytes out; no I/O.

export interface Call {
  path: string;
  iface: string;
  member: string;
  /** D-Bus signature of `args`: "s" and "as" only, concatenated ("ss", "as"). */
  signature: string;
  args: Array<string | string[]>;
  serial: number;
}

export interface Reply {
  /** 2: method return, 3: error, 4: signal. */
  type: number;
  replySerial: number | undefined;
  signature: string;
  errorName: string | undefined;
  body: Uint8Array;
}

const ENC = new TextEncoder();
const DEC = new TextDecoder("utf-8", { fatal: true });

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;
  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.grow(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  byte(b: number): void {
    this.grow(1);
    this.buf[this.len++] = b;
  }
  u32(v: number): void {
    this.align(4);
    this.grow(4);
    this.view.setUint32(this.len, v, true);
    this.len += 4;
  }
  /** Patches a u32 written earlier. */
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  private bytes(b: Uint8Array): void {
    this.grow(b.length + 1);
    this.buf.set(b, this.len);
    this.len += b.length;
    this.buf[this.len++] = 0;
  }
  str(s: string): void {
    const b = ENC.encode(s);
    this.u32(b.length);
    this.bytes(b);
  }
  sig(s: string): void {
    const b = ENC.encode(s);
    if (b.length > 255) throw new Error("D-Bus signature too long");
    this.byte(b.length);
    this.bytes(b);
  }
  strArray(list: string[]): void {
    this.u32(0);
    const at = this.len - 4;
    const start = this.len; // strings align to 4: no padding after the length
    for (const s of list) this.str(s);
    this.setU32(at, this.len - start);
  }
  out(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A METHOD_CALL message for `c`. */
export function encodeCall(c: Call): Uint8Array {
  const body = new Writer();
  const types = c.signature.match(/as|s/g) ?? [];
  if (types.join("") !== c.signature || types.length !== c.args.length)
    throw new Error(`D-Bus: unsupported signature ${c.signature} for ${c.args.length} arguments`);
  types.forEach((t, i) =>
    t === "s" ? body.str(c.args[i] as string) : body.strArray(c.args[i] as string[]),
  );
  const h = new Writer();
  h.byte(0x6c); // 'l'
  h.byte(1); // METHOD_CALL
  h.byte(0);
  h.byte(1); // protocol version
  h.u32(body.len);
  h.u32(c.serial);
  h.u32(0);
  const at = h.len - 4;
  const start = h.len;
  const field = (code: number, sig: string, write: () => void) => {
    h.align(8);
    h.byte(code);
    h.sig(sig);
    write();
  };
  field(1, "o", () => h.str(c.path));
  field(2, "s", () => h.str(c.iface));
  field(3, "s", () => h.str(c.member));
  field(6, "s", () => h.str("org.freedesktop.systemd1"));
  if (c.signature) field(8, "g", () => h.sig(c.signature));
  h.setU32(at, h.len - start);
  h.align(8);
  const msg = new Uint8Array(h.len + body.len);
  msg.set(h.out(), 0);
  msg.set(body.out(), h.len);
  return msg;
}

export class Reader {
  private view: DataView;
  constructor(
    private readonly b: Uint8Array,
    public pos = 0,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new Error("D-Bus: message cut short");
  }
  align(n: number): void {
    this.pos += (n - (this.pos % n)) % n;
    this.need(0);
  }
  byte(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private text(n: number): string {
    this.need(n + 1);
    const s = DEC.decode(this.b.subarray(this.pos, this.pos + n));
    if (this.b[this.pos + n] !== 0) throw new Error("D-Bus: string not terminated");
    this.pos += n + 1;
    return s;
  }
  str(): string {
    return this.text(this.u32());
  }
  sig(): string {
    return this.text(this.byte());
  }
  /** Skips a value of a basic type or a variant; containers other than variants are not read here. */
  value(t: string): string | number {
    switch (t) {
      case "s":
      case "o":
        return this.str();
      case "g":
        return this.sig();
      case "u":
        return this.u32();
      case "y":
        return this.byte();
      case "v": {
        const s = this.sig();
        return this.value(s);
      }
      default:
        throw new Error(`D-Bus: cannot read type ${t}`);
    }
  }
}

/** The length of the message at the start of `b` once its fixed header is there (16 bytes), else undefined. */
export function messageLength(b: Uint8Array): number | undefined {
  if (b.length < 16) return undefined;
  if (b[0] !== 0x6c) throw new Error("D-Bus: not a little-endian message");
  const v = new DataView(b.buffer, b.byteOffset, 16);
  const body = v.getUint32(4, true);
  const fields = v.getUint32(12, true);
  return Math.ceil((16 + fields) / 8) * 8 + body;
}

/** One whole message (its length from messageLength). */
export function decodeReply(b: Uint8Array): Reply {
  const r = new Reader(b);
  if (r.byte() !== 0x6c) throw new Error("D-Bus: not a little-endian message");
  const type = r.byte();
  r.byte();
  r.byte();
  const bodyLen = r.u32();
  r.u32();
  const fieldsLen = r.u32();
  const end = r.pos + fieldsLen;
  let replySerial: number | undefined,
    signature = "",
    errorName: string | undefined;
  while (r.pos < end) {
    r.align(8);
    const code = r.byte();
    const v = r.value("v");
    if (code === 5) replySerial = v as number;
    else if (code === 8) signature = v as string;
    else if (code === 4) errorName = v as string;
  }
  r.pos = end;
  r.align(8);
  if (r.pos + bodyLen > b.length) throw new Error("D-Bus: message cut short");
  return { type, replySerial, signature, errorName, body: b.subarray(r.pos, r.pos + bodyLen) };
}

/** One unit of ListUnitsByNames's answer. */
export interface ListedUnit {
  id: string;
  load: string;
  active: string;
  path: string;
}

/** The body of ListUnitsByNames's return, a(ssssssouso): name, description, load, active, sub, following, path, job id, type, path. */
export function parseListUnits(body: Uint8Array): ListedUnit[] {
  const r = new Reader(body);
  const len = r.u32();
  r.align(8);
  const end = r.pos + len;
  const out: ListedUnit[] = [];
  while (r.pos < end) {
    r.align(8);
    const [id, , load, active, , , path] = [
      r.str(),
      r.str(),
      r.str(),
      r.str(),
      r.str(),
      r.str(),
      r.str(),
    ];
    r.u32(), r.str(), r.str();
    out.push({ id: id!, load: load!, active: active!, path: path! });
  }
  return out;
}

/** The body of Properties.Get's return for a string property: v holding s. */
export function parseStringVariant(body: Uint8Array): string {
  const r = new Reader(body);
  const sig = r.sig();
  if (sig !== "s") throw new Error(`D-Bus: expected a string, got ${sig}`);
  return r.str();
}

/** The error's message (the first argument, a string, when there is one). */
export function errorText(reply: Reply): string {
  try {
    return `${reply.errorName ?? "error"}: ${reply.signature.startsWith("s") ? new Reader(reply.body).str() : ""}`;
  } catch {
    return reply.errorName ?? "error";
  }
}

/** What `systemctl show -p Id,LoadState,ActiveState,UnitFileState` prints for these units (UnitFileState: `files`, in order). */
export function showText(listed: ListedUnit[], files: string[]): string {
  return listed
    .map(
      (u, i) =>
        `Id=${u.id}\nLoadState=${u.load}\nActiveState=${u.active}\nUnitFileState=${files[i]}\n`,
    )
    .join("\n");
}
