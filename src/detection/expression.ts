/**
 * The scenario expression language: a small, safe evaluator. Expressions are parsed once and
 * compiled to closures over an event; nothing is ever passed to `eval`. Unknown names, unknown
 * functions and non-literal regexes are errors at load time, not at run time.
 *
 *   type == "auth.failure" && service in ["postfix", "dovecot"]
 *   fields.status >= 400 && !(ip in_cidr "10.0.0.0/8")
 *   lower(fields.comment) matches "d[ée]so"
 */
import type { Event, FieldValue } from "../core/index.ts";
import { err, ok, type Result } from "../core/index.ts";
import { parseCidr, rangeContains } from "../net/index.ts";
import { accessor } from "./fields.ts";

export type Compiled = (e: Event) => Value;
type Value = FieldValue | undefined | readonly Value[];

export interface ExpressionError {
  readonly code: "EXPRESSION_INVALID";
  readonly message: string;
  /** 0-based column in the expression text. */
  readonly column: number;
}

type Token =
  | { kind: "num"; value: number; pos: number }
  | { kind: "str"; value: string; pos: number }
  | { kind: "name"; value: string; pos: number }
  | { kind: "op"; value: string; pos: number }
  | { kind: "end"; pos: number };

type Node =
  | { kind: "lit"; value: Value }
  | { kind: "field"; name: string; pos: number }
  | { kind: "list"; items: Node[] }
  | { kind: "not"; arg: Node }
  | { kind: "neg"; arg: Node }
  | { kind: "bin"; op: string; left: Node; right: Node; pos: number }
  | { kind: "call"; name: string; args: Node[]; pos: number };

class Fail extends Error {
  readonly column: number;
  constructor(message: string, column: number) {
    super(message);
    this.column = column;
  }
}

const OPS = [
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  "!",
  "(",
  ")",
  "[",
  "]",
  ",",
  "+",
  "-",
  "*",
  "/",
  "%",
];
const WORD_OPS = new Set([
  "in",
  "not",
  "and",
  "or",
  "matches",
  "contains",
  "startsWith",
  "endsWith",
  "in_cidr",
]);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const start = i;
      let s = "";
      i++;
      for (;;) {
        if (i >= src.length) throw new Fail("unterminated string", start);
        const d = src[i]!;
        if (d === c) break;
        if (d === "\\") {
          const n = src[i + 1];
          if (n === undefined) throw new Fail("unterminated string", start);
          s += n === "n" ? "\n" : n === "t" ? "\t" : n;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      i++;
      out.push({ kind: "str", value: s, pos: start });
      continue;
    }
    if (c >= "0" && c <= "9") {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ kind: "num", value: Number(m[0]), pos: i });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*/.exec(src.slice(i))!;
      out.push({ kind: "name", value: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new Fail(`unexpected character ${JSON.stringify(c)}`, i);
    out.push({ kind: "op", value: op, pos: i });
    i += op.length;
  }
  out.push({ kind: "end", pos: src.length });
  return out;
}

// Binding powers, lowest first.
const BINARY: Readonly<Record<string, number>> = {
  "||": 1,
  or: 1,
  "&&": 2,
  and: 2,
  "==": 3,
  "!=": 3,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  in: 4,
  "not in": 4,
  matches: 4,
  contains: 4,
  startsWith: 4,
  endsWith: 4,
  in_cidr: 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "%": 6,
};

class Parser {
  readonly #t: Token[];
  #i = 0;
  constructor(tokens: Token[]) {
    this.#t = tokens;
  }
  #peek(): Token {
    return this.#t[this.#i]!;
  }
  #next(): Token {
    return this.#t[this.#i++]!;
  }
  #expect(op: string): void {
    const t = this.#next();
    if (t.kind !== "op" || t.value !== op) throw new Fail(`expected "${op}"`, t.pos);
  }
  parseAll(): Node {
    const n = this.expr(0);
    const t = this.#peek();
    if (t.kind !== "end") throw new Fail("unexpected text after the expression", t.pos);
    return n;
  }
  #binaryOp(): { op: string; width: number } | undefined {
    const t = this.#peek();
    if (t.kind === "op" && t.value in BINARY) return { op: t.value, width: 1 };
    if (t.kind === "name" && WORD_OPS.has(t.value)) {
      if (t.value === "not") {
        const n = this.#t[this.#i + 1];
        if (n?.kind === "name" && n.value === "in") return { op: "not in", width: 2 };
        return undefined;
      }
      return { op: t.value, width: 1 };
    }
    return undefined;
  }
  expr(minPower: number): Node {
    let left = this.unary();
    for (;;) {
      const found = this.#binaryOp();
      if (!found) return left;
      const power = BINARY[found.op]!;
      if (power <= minPower) return left;
      const pos = this.#peek().pos;
      this.#i += found.width;
      const right = this.expr(power);
      left = { kind: "bin", op: found.op, left, right, pos };
    }
  }
  unary(): Node {
    const t = this.#peek();
    if (t.kind === "op" && t.value === "!") {
      this.#i++;
      return { kind: "not", arg: this.unary() };
    }
    if (t.kind === "name" && t.value === "not") {
      this.#i++;
      return { kind: "not", arg: this.unary() };
    }
    if (t.kind === "op" && t.value === "-") {
      this.#i++;
      return { kind: "neg", arg: this.unary() };
    }
    return this.primary();
  }
  primary(): Node {
    const t = this.#next();
    switch (t.kind) {
      case "num":
      case "str":
        return { kind: "lit", value: t.value };
      case "name": {
        if (t.value === "true" || t.value === "false")
          return { kind: "lit", value: t.value === "true" };
        if (t.value === "null") return { kind: "lit", value: null };
        const p = this.#peek();
        if (p.kind === "op" && p.value === "(") {
          this.#i++;
          const args: Node[] = [];
          if (!(this.#peek().kind === "op" && (this.#peek() as { value: string }).value === ")")) {
            for (;;) {
              args.push(this.expr(0));
              const s = this.#next();
              if (s.kind === "op" && s.value === ")") break;
              if (!(s.kind === "op" && s.value === ","))
                throw new Fail('expected "," or ")"', s.pos);
            }
          } else this.#i++;
          return { kind: "call", name: t.value, args, pos: t.pos };
        }
        return { kind: "field", name: t.value, pos: t.pos };
      }
      case "op":
        if (t.value === "(") {
          const n = this.expr(0);
          this.#expect(")");
          return n;
        }
        if (t.value === "[") {
          const items: Node[] = [];
          if (this.#peek().kind === "op" && (this.#peek() as { value: string }).value === "]") {
            this.#i++;
            return { kind: "list", items };
          }
          for (;;) {
            items.push(this.expr(0));
            const s = this.#next();
            if (s.kind === "op" && s.value === "]") break;
            if (!(s.kind === "op" && s.value === ",")) throw new Fail('expected "," or "]"', s.pos);
          }
          return { kind: "list", items };
        }
        throw new Fail(`unexpected "${t.value}"`, t.pos);
      case "end":
        throw new Fail("the expression ends too early", t.pos);
    }
  }
}

const truthy = (v: Value): boolean =>
  v !== undefined && v !== null && v !== false && v !== 0 && v !== "";

const num = (v: Value): number =>
  typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;

const str = (v: Value): string | undefined =>
  typeof v === "string"
    ? v
    : typeof v === "number" || typeof v === "boolean"
      ? String(v)
      : undefined;

/** Loose equality that treats "25" and 25 alike, as log fields are often numeric text. */
function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  // A missing field is null: `fields.x == null` tests for it.
  if (a === undefined || a === null) return b === undefined || b === null;
  if (typeof a === "number" && typeof b === "string") return a === Number(b);
  if (typeof a === "string" && typeof b === "number") return Number(a) === b;
  return false;
}

function constant(n: Node): Value | typeof NOT_CONST {
  if (n.kind === "lit") return n.value;
  if (n.kind === "list") {
    const items: Value[] = [];
    for (const i of n.items) {
      const c = constant(i);
      if (c === NOT_CONST) return NOT_CONST;
      items.push(c);
    }
    return items;
  }
  return NOT_CONST;
}
const NOT_CONST = Symbol("not constant");

const FUNCTIONS: Readonly<Record<string, { arity: number; fn: (...a: Value[]) => Value }>> = {
  lower: { arity: 1, fn: (a) => str(a)?.toLowerCase() },
  upper: { arity: 1, fn: (a) => str(a)?.toUpperCase() },
  len: { arity: 1, fn: (a) => (Array.isArray(a) ? a.length : (str(a)?.length ?? 0)) },
  exists: { arity: 1, fn: (a) => a !== undefined && a !== null },
  number: { arity: 1, fn: (a) => num(a) },
  string: { arity: 1, fn: (a) => str(a) ?? null },
};

function compileNode(n: Node): Compiled {
  switch (n.kind) {
    case "lit": {
      const v = n.value;
      return () => v;
    }
    case "field": {
      const get = accessor(n.name);
      if (!get)
        throw new Fail(`unknown field "${n.name}" (use a built-in name or fields.<name>)`, n.pos);
      return get;
    }
    case "list": {
      const items = n.items.map(compileNode);
      return (e) => items.map((f) => f(e));
    }
    case "not": {
      const a = compileNode(n.arg);
      return (e) => !truthy(a(e));
    }
    case "neg": {
      const a = compileNode(n.arg);
      return (e) => -num(a(e));
    }
    case "call": {
      const f = Object.hasOwn(FUNCTIONS, n.name) ? FUNCTIONS[n.name] : undefined;
      if (!f)
        throw new Fail(
          `unknown function "${n.name}" (known: ${Object.keys(FUNCTIONS).join(", ")})`,
          n.pos,
        );
      if (n.args.length !== f.arity)
        throw new Fail(`${n.name}() takes ${f.arity} argument(s)`, n.pos);
      const args = n.args.map(compileNode);
      const fn = f.fn;
      return args.length === 1 ? (e) => fn(args[0]!(e)) : (e) => fn(...args.map((a) => a(e)));
    }
    case "bin":
      return compileBinary(n);
  }
}

function compileBinary(n: Extract<Node, { kind: "bin" }>): Compiled {
  const left = compileNode(n.left);
  const rightConst = constant(n.right);
  switch (n.op) {
    case "&&":
    case "and": {
      const right = compileNode(n.right);
      return (e) => truthy(left(e)) && truthy(right(e));
    }
    case "||":
    case "or": {
      const right = compileNode(n.right);
      return (e) => truthy(left(e)) || truthy(right(e));
    }
    case "matches": {
      if (typeof rightConst !== "string")
        throw new Fail("matches takes a string literal pattern", n.pos);
      let re: RegExp;
      try {
        re = new RegExp(rightConst, "u");
      } catch (cause) {
        throw new Fail(`invalid pattern: ${(cause as Error).message}`, n.pos);
      }
      return (e) => {
        const s = str(left(e));
        return s !== undefined && re.test(s);
      };
    }
    case "in_cidr": {
      const range = typeof rightConst === "string" ? parseCidr(rightConst) : undefined;
      if (!range) throw new Fail('in_cidr takes a CIDR string literal such as "10.0.0.0/8"', n.pos);
      return (e) => {
        const s = str(left(e));
        return s !== undefined && (s.includes(".") || s.includes(":")) && rangeContains(range, s);
      };
    }
    case "in":
    case "not in": {
      const negate = n.op === "not in";
      if (Array.isArray(rightConst)) {
        // A constant list becomes a Set: membership costs the same for 3 items or 3,000.
        const set = new Set<Value>();
        for (const v of rightConst as Value[]) {
          set.add(v);
          if (typeof v === "number") set.add(String(v));
        }
        // A missing field is null here too: `fields.x in [null, ""]` finds it.
        return (e) => set.has(left(e) ?? null) !== negate;
      }
      const right = compileNode(n.right);
      return (e) => {
        const r = right(e);
        const l = left(e);
        const found = Array.isArray(r)
          ? (r as Value[]).some((x) => equal(x, l))
          : typeof r === "string" && typeof l === "string" && r.includes(l);
        return found !== negate;
      };
    }
  }
  const right = compileNode(n.right);
  switch (n.op) {
    case "==":
      return (e) => equal(left(e), right(e));
    case "!=":
      return (e) => !equal(left(e), right(e));
    case "<":
      return (e) => num(left(e)) < num(right(e));
    case "<=":
      return (e) => num(left(e)) <= num(right(e));
    case ">":
      return (e) => num(left(e)) > num(right(e));
    case ">=":
      return (e) => num(left(e)) >= num(right(e));
    case "contains":
      return (e) => {
        const l = left(e);
        const r = str(right(e));
        if (Array.isArray(l)) return (l as Value[]).some((x) => equal(x, r));
        const s = str(l);
        return s !== undefined && r !== undefined && s.includes(r);
      };
    case "startsWith":
      return (e) => {
        const s = str(left(e));
        const r = str(right(e));
        return s !== undefined && r !== undefined && s.startsWith(r);
      };
    case "endsWith":
      return (e) => {
        const s = str(left(e));
        const r = str(right(e));
        return s !== undefined && r !== undefined && s.endsWith(r);
      };
    case "+":
      return (e) => {
        const l = left(e);
        const r = right(e);
        return typeof l === "string" || typeof r === "string"
          ? `${str(l) ?? ""}${str(r) ?? ""}`
          : num(l) + num(r);
      };
    case "-":
      return (e) => num(left(e)) - num(right(e));
    case "*":
      return (e) => num(left(e)) * num(right(e));
    case "/":
      return (e) => num(left(e)) / num(right(e));
    case "%":
      return (e) => num(left(e)) % num(right(e));
  }
  throw new Fail(`unknown operator ${n.op}`, n.pos);
}

/** Parses and compiles an expression once. */
export function compileExpression(source: string): Result<Compiled, ExpressionError> {
  try {
    return ok(compileNode(new Parser(tokenize(source)).parseAll()));
  } catch (e) {
    if (e instanceof Fail)
      return err({ code: "EXPRESSION_INVALID", message: e.message, column: e.column });
    throw e;
  }
}

/** Compiles an expression used as a condition: its result is read as true or false. */
export function compileFilter(source: string): Result<(e: Event) => boolean, ExpressionError> {
  const c = compileExpression(source);
  if (!c.ok) return c;
  const f = c.value;
  return ok((e: Event) => truthy(f(e)));
}

/** The fields an expression reads (`ip`, `fields.form`), each with its column; [] if it does not parse. */
export function fieldsRead(
  source: string,
): readonly { readonly name: string; readonly column: number }[] {
  let node: Node;
  try {
    node = new Parser(tokenize(source)).parseAll();
  } catch {
    return [];
  }
  const out: { name: string; column: number }[] = [];
  const visit = (n: Node): void => {
    if (n.kind === "field") out.push({ name: n.name, column: n.pos });
    else if (n.kind === "list") n.items.forEach(visit);
    else if (n.kind === "not" || n.kind === "neg") visit(n.arg);
    else if (n.kind === "bin") {
      visit(n.left);
      visit(n.right);
    } else if (n.kind === "call") n.args.forEach(visit);
  };
  visit(node);
  return out;
}

/**
 * The event types a filter can possibly match, when it is a conjunction that pins `type`
 * (`type == "x" && …` or `type in [...] && …`). The engine indexes scenarios by it so most
 * events never reach most filters. Undefined means "any type".
 */
export function pinnedTypes(source: string): readonly string[] | undefined {
  let node: Node;
  try {
    node = new Parser(tokenize(source)).parseAll();
  } catch {
    return undefined;
  }
  const visit = (n: Node): readonly string[] | undefined => {
    if (n.kind !== "bin") return undefined;
    if (n.op === "&&" || n.op === "and") {
      const l = visit(n.left);
      const r = visit(n.right);
      if (l && r) return l.filter((t) => r.includes(t));
      return l ?? r;
    }
    if (n.left.kind === "field" && n.left.name === "type") {
      const c = constant(n.right);
      if (n.op === "==" && typeof c === "string") return [c];
      if (n.op === "in" && Array.isArray(c) && c.every((x) => typeof x === "string")) return c;
    }
    return undefined;
  };
  return visit(node);
}
