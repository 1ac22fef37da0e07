/**
 * A small, safe unpickler: it interprets the data-building opcodes of pickle protocols 2-5 and
 * never executes code. GLOBAL / STACK_GLOBAL are resolved through a caller-supplied whitelist
 * (`findGlobal`); anything not on it is refused with a ModelFileError, so a malicious checkpoint
 * cannot reach os.system & co. (Python's own pickle would happily run it.)
 *
 * Output is plain JS: dicts become objects (string keys) or Maps (other keys), lists and tuples
 * arrays, ints numbers (bigint beyond 2^53), floats numbers, None null, bytes Uint8Array, sets Set.
 * Whatever a whitelisted global returns (tensors, ...) is passed through untouched.
 */
import { ModelFileError } from '../errors.js';

/** A whitelisted callable (class or function) as it sits on the pickle stack. */
export class PickleCallable {
  constructor(
    /** "module.name", for messages. */
    readonly name: string,
    /** What REDUCE / NEWOBJ do with it; receives the argument tuple. */
    readonly call: (args: unknown[]) => unknown,
  ) {}
}

/** Implemented by objects a whitelisted global returns when they accept BUILD (set state). */
export interface PickleStateful {
  setState(state: unknown): void;
}

/** A dict while unpickling; keys compared as JS Map keys. Converted to plain JS at STOP. */
export class PickleDict {
  readonly map = new Map<unknown, unknown>();
}

export interface UnpickleOptions {
  /** Names the checkpoint in error messages. */
  readonly file: string;
  /** The pickle's name inside the container, for messages ("archive/data.pkl"). */
  readonly entry: string;
  /** The value GLOBAL pushes for module.name, or undefined to refuse it. */
  findGlobal(module: string, name: string): unknown;
  /** BINPERSID / PERSID: turns a persistent id into the object it stands for. */
  persistentLoad?(pid: unknown): unknown;
}

// Deeper nesting than any checkpoint needs; keeps the recursive conversion off the stack limit.
const MAX_NESTING = 1000;
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function unpickle(data: Uint8Array, options: UnpickleOptions): unknown {
  const { file, entry } = options;
  // Messages name the pickle ("archive/data.pkl") only where the pickle itself is at fault.
  const fail = (reason: string): never => {
    throw new ModelFileError(file, reason);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const corrupt = (what: string): never => fail(`${entry} is corrupt (${what})`);
  const need = (n: number): number => {
    if (n > data.length - pos) fail(`${entry} is truncated`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)]!;
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const u64 = () => {
    const v = view.getBigUint64(need(8), true);
    return v > BigInt(data.length) ? fail(`${entry} is truncated`) : Number(v);
  };
  const bytes = (n: number) => data.subarray(need(n), pos);
  const utf8 = (n: number) => {
    try {
      return textDecoder.decode(bytes(n));
    } catch {
      return fail(`${entry} holds a string that is not valid UTF-8`);
    }
  };
  const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail(`${entry} is truncated`);
    const s = latin1(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => (stack.length ? stack.pop() : corrupt('stack underflow'));
  const top = (): unknown => (stack.length ? stack[stack.length - 1] : corrupt('stack underflow'));
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) corrupt('no MARK');
    stack = prev!;
    return items;
  };
  const memoGet = (i: number) => (memo.has(i) ? memo.get(i) : corrupt(`memo ${i} is unset`));
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof PickleDict)) corrupt('SETITEM on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PickleDict).map.set(items[i], items[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (list instanceof Set) for (const x of items) list.add(x);
    else if (Array.isArray(list)) for (const x of items) list.push(x);
    else corrupt('APPEND on a non-list');
  };
  const pushGlobal = (module: string, name: string) => {
    const value = options.findGlobal(module, name);
    if (value === undefined) fail(`unsupported object ${module}.${name} in the checkpoint (only tensors, containers and plain values are loaded, never code)`);
    stack.push(value);
  };
  const call = (callable: unknown, args: unknown) => {
    if (!(callable instanceof PickleCallable)) fail(`${entry} calls something that is not a whitelisted function (${describe(callable)})`);
    if (!Array.isArray(args)) corrupt('call arguments are not a tuple');
    return (callable as PickleCallable).call(args as unknown[]);
  };
  const persistent = (pid: unknown) => {
    if (!options.persistentLoad) fail(`${entry} refers to external data but none is available`);
    return options.persistentLoad!(pid);
  };
  const signed = (b: Uint8Array): number | bigint => {
    // Little-endian two's complement of any length (LONG1 / LONG4).
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(b.length * 8);
    return toInt(v);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { const proto = u8(); if (proto > 5) fail(`unsupported pickle protocol ${proto}`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: framing is only a read-ahead hint
      case 0x2e: return toPlain(pop(), fail, entry); // STOP
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(signed(bytes(u8()))); break; // LONG1
      case 0x8b: { // LONG4; an int of over 1 KB is no checkpoint value, and would take quadratic time
        const n = view.getInt32(need(4), true);
        if (n < 0 || n > 1024) corrupt(`integer of ${n} bytes`);
        stack.push(signed(bytes(n)));
        break;
      }
      case 0x49: { // INT (protocol 0; also how Python 2 wrote booleans)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : parseDecimal(s, corrupt));
        break;
      }
      case 0x4c: stack.push(parseDecimal(line().replace(/L$/, ''), corrupt)); break; // LONG (protocol 0)
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(u64())); break; // BINUNICODE8
      case 0x54: { const n = view.getInt32(need(4), true); if (n < 0) corrupt('negative length'); stack.push(latin1(bytes(n))); break; } // BINSTRING
      case 0x55: stack.push(latin1(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8
      case 0x7d: stack.push(new PickleDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
      case 0x90: { const items = popMark(); appendItems(top(), items); break; } // ADDITEMS
      case 0x74: { const items = popMark(); stack.push(items); break; } // TUPLE (pop first: popMark swaps `stack`)
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x64: { const d = new PickleDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(Number(parseDecimal(line(), corrupt)), top()); break; // PUT
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(Number(parseDecimal(line(), corrupt)))); break; // GET
      case 0x63: { const module = line(); pushGlobal(module, line()); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL needs two strings');
        pushGlobal(module as string, name as string);
        break;
      }
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ: cls.__new__(cls, *args)
      case 0x92: { // NEWOBJ_EX: only without keyword arguments
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof PickleDict) || kwargs.map.size) fail('unsupported keyword arguments in the pickle');
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: { const state = pop(); build(top(), state, fail, entry); break; } // BUILD
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line())); break; // PERSID
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
    }
  }
}

/** BUILD: restore state. Only whitelisted objects that ask for it take state. */
function build(obj: unknown, state: unknown, fail: (reason: string) => never, entry: string): void {
  if (obj instanceof PickleDict) return; // e.g. a state_dict's `_metadata` attribute: not data
  if (typeof obj === 'object' && obj !== null && typeof (obj as Partial<PickleStateful>).setState === 'function') {
    (obj as PickleStateful).setState(state);
    return;
  }
  fail(`${entry} sets the state of an unsupported object (${describe(obj)})`);
}

function parseDecimal(s: string, corrupt: (what: string) => never): number | bigint {
  if (!/^[+-]?\d+$/.test(s)) corrupt(`bad integer "${s.slice(0, 20)}"`);
  return toInt(BigInt(s));
}

/** ints are numbers while exact, bigints beyond 2^53. */
export function toInt(v: bigint): number | bigint {
  return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
}

function describe(v: unknown): string {
  if (v instanceof PickleCallable) return v.name;
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a tuple or list';
  if (v instanceof PickleDict) return 'a dict';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

/**
 * Internal containers -> plain JS. Shared and cyclic references keep their identity (a memo).
 * Only our own containers are walked: values returned by whitelisted globals are leaves.
 */
function toPlain(root: unknown, fail: (reason: string) => never, entry: string): unknown {
  const seen = new Map<object, unknown>();
  const visit = (v: unknown, depth: number): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (!(v instanceof PickleDict) && !Array.isArray(v) && !(v instanceof Set)) return v;
    if (seen.has(v)) return seen.get(v);
    if (depth > MAX_NESTING) fail(`${entry} nests containers too deeply`);
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const x of v) out.push(visit(x, depth + 1));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set<unknown>();
      seen.set(v, out);
      for (const x of v) out.add(visit(x, depth + 1));
      return out;
    }
    const stringKeys = [...v.map.keys()].every((k) => typeof k === 'string');
    if (!stringKeys) {
      const out = new Map<unknown, unknown>();
      seen.set(v, out);
      for (const [k, x] of v.map) out.set(visit(k, depth + 1), visit(x, depth + 1));
      return out;
    }
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    // defineProperty: a key such as "__proto__" must become data, not change the prototype.
    for (const [k, x] of v.map) Object.defineProperty(out, k as string, { value: visit(x, depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  };
  return visit(root, 0);
}
