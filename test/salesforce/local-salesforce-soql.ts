import { malformedQuery } from './local-salesforce-errors.ts';
import { isDate, parseDateTime } from './local-salesforce-values.ts';

/**
 * The SOQL subset the local Salesforce understands, parsed into a small tree:
 * `SELECT f1, Rel.f2 | COUNT() FROM Type [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], …]
 * [LIMIT n] [OFFSET n]`, conditions with = != <> < > <= >= LIKE IN / NOT IN, AND, OR, NOT and
 * parentheses; literals: 'strings' (with \' escapes), numbers, true/false, null, dates
 * (2026-01-31), datetimes (2026-01-31T10:00:00Z / +01:00) and TODAY, YESTERDAY, TOMORROW,
 * LAST_N_DAYS:n, NEXT_N_DAYS:n. Keywords are case-insensitive, as in Salesforce.
 */
export type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' }
  | { type: 'date'; value: string }
  | { type: 'datetime'; ms: number }
  | { type: 'range'; name: string; start: number; end: number };

export type Operator = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'LIKE';

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; condition: Condition }
  | { kind: 'compare'; path: string[]; op: Operator; value: Literal }
  | { kind: 'in'; path: string[]; negated: boolean; values: Literal[] };

export interface OrderItem {
  path: string[];
  descending: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  count: boolean;
  fields: string[][];
  from: string;
  where: Condition | null;
  orderBy: OrderItem[];
  limit: number | null;
  offset: number | null;
}

interface Token {
  kind: 'word' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct';
  text: string;
}

const TOKEN =
  /\s*(?:(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))|(\d{4}-\d{2}-\d{2})|(-?\d+(?:\.\d+)?)|('(?:[^'\\]|\\.)*')|([A-Za-z_][\w.]*)|(!=|<>|<=|>=|=|<|>)|([(),:]))/y;

function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < soql.length) {
    if (/^\s*$/.test(soql.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(soql);
    if (!m) throw malformedQuery(`unexpected token: '${soql.slice(at).trim().split(/\s/)[0]}'`);
    at = TOKEN.lastIndex;
    const kinds: Token['kind'][] = ['datetime', 'date', 'number', 'string', 'word', 'op', 'punct'];
    const index = m.slice(1).findIndex((g) => g !== undefined);
    tokens.push({ kind: kinds[index]!, text: m[index + 1]! });
  }
  return tokens;
}

/** A string literal's value; `\\%` and `\\_` stay escaped (they mean literal wildcards in LIKE). */
const unquote = (quoted: string) =>
  quoted
    .slice(1, -1)
    .replace(/\\(.)/g, (_, c: string) =>
      c === '%' || c === '_' ? `\\${c}` : ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[c] ?? c),
    );

const DAY = 86_400_000;

function relativeRange(name: string, n: number): Literal {
  const today = Math.floor(Date.now() / DAY) * DAY;
  const ranges: Record<string, [number, number]> = {
    TODAY: [today, today + DAY],
    YESTERDAY: [today - DAY, today],
    TOMORROW: [today + DAY, today + 2 * DAY],
    LAST_N_DAYS: [today - n * DAY, today + DAY],
    NEXT_N_DAYS: [today + DAY, today + (n + 1) * DAY],
  };
  const [start, end] = ranges[name]!;
  return { type: 'range', name, start, end };
}

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.tokens[this.at + offset];
    return t?.kind === 'word' && t.text.toUpperCase() === word;
  }

  private next(): Token {
    const t = this.tokens[this.at++];
    if (!t) throw malformedQuery('unexpected end of query');
    return t;
  }

  private expectWord(word: string) {
    const t = this.next();
    if (t.kind !== 'word' || t.text.toUpperCase() !== word)
      throw malformedQuery(`unexpected token: '${t.text}'`);
  }

  private expectPunct(p: string) {
    const t = this.next();
    if (t.text !== p) throw malformedQuery(`unexpected token: '${t.text}'`);
  }

  private path(): string[] {
    const t = this.next();
    if (t.kind !== 'word') throw malformedQuery(`unexpected token: '${t.text}'`);
    return t.text.split('.');
  }

  query(): SoqlQuery {
    this.expectWord('SELECT');
    const q: SoqlQuery = {
      count: false,
      fields: [],
      from: '',
      where: null,
      orderBy: [],
      limit: null,
      offset: null,
    };
    if (this.isWord('COUNT') && this.tokens[this.at + 1]?.text === '(') {
      this.at += 1;
      this.expectPunct('(');
      this.expectPunct(')');
      q.count = true;
    } else {
      do q.fields.push(this.path());
      while (this.peek()?.text === ',' && this.next());
    }
    this.expectWord('FROM');
    q.from = this.path().join('.');
    if (this.isWord('WHERE')) {
      this.at += 1;
      q.where = this.disjunction();
    }
    if (this.isWord('ORDER')) {
      this.at += 1;
      this.expectWord('BY');
      do q.orderBy.push(this.orderItem());
      while (this.peek()?.text === ',' && this.next());
    }
    if (this.isWord('LIMIT')) {
      this.at += 1;
      q.limit = this.integer();
    }
    if (this.isWord('OFFSET')) {
      this.at += 1;
      q.offset = this.integer();
    }
    const rest = this.peek();
    if (rest) throw malformedQuery(`unexpected token: '${rest.text}'`);
    return q;
  }

  private integer(): number {
    const t = this.next();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) throw malformedQuery(`unexpected token: '${t.text}'`);
    return Number(t.text);
  }

  private orderItem(): OrderItem {
    const path = this.path();
    let descending = false;
    if (this.isWord('ASC') || this.isWord('DESC')) descending = this.next().text.toUpperCase() === 'DESC';
    let nullsLast = descending;
    if (this.isWord('NULLS')) {
      this.at += 1;
      const where = this.next().text.toUpperCase();
      if (where !== 'FIRST' && where !== 'LAST') throw malformedQuery(`unexpected token: '${where}'`);
      nullsLast = where === 'LAST';
    }
    return { path, descending, nullsLast };
  }

  private disjunction(): Condition {
    let left = this.conjunction();
    while (this.isWord('OR')) {
      this.at += 1;
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Condition {
    let left = this.unary();
    while (this.isWord('AND')) {
      this.at += 1;
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Condition {
    if (this.isWord('NOT')) {
      this.at += 1;
      return { kind: 'not', condition: this.unary() };
    }
    if (this.peek()?.text === '(') {
      this.at += 1;
      const inner = this.disjunction();
      this.expectPunct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const path = this.path();
    if (this.isWord('IN') || (this.isWord('NOT') && this.isWord('IN', 1))) {
      const negated = this.next().text.toUpperCase() === 'NOT';
      if (negated) this.at += 1;
      this.expectPunct('(');
      const values: Literal[] = [];
      do values.push(this.literal());
      while (this.peek()?.text === ',' && this.next());
      this.expectPunct(')');
      return { kind: 'in', path, negated, values };
    }
    const t = this.next();
    const op = t.kind === 'op' ? (t.text === '<>' ? '!=' : t.text) : t.text.toUpperCase();
    if (!['=', '!=', '<', '>', '<=', '>=', 'LIKE'].includes(op))
      throw malformedQuery(`unexpected token: '${t.text}'`);
    return { kind: 'compare', path, op: op as Operator, value: this.literal() };
  }

  private literal(): Literal {
    const t = this.next();
    if (t.kind === 'string') return { type: 'string', value: unquote(t.text) };
    if (t.kind === 'number') return { type: 'number', value: Number(t.text) };
    if (t.kind === 'date') {
      if (!isDate(t.text)) throw malformedQuery(`invalid date: ${t.text}`);
      return { type: 'date', value: t.text };
    }
    if (t.kind === 'datetime') {
      const ms = parseDateTime(t.text);
      if (ms === null) throw malformedQuery(`invalid date time: ${t.text}`);
      return { type: 'datetime', ms };
    }
    const word = t.text.toUpperCase();
    if (word === 'NULL') return { type: 'null' };
    if (word === 'TRUE' || word === 'FALSE') return { type: 'boolean', value: word === 'TRUE' };
    if (['TODAY', 'YESTERDAY', 'TOMORROW'].includes(word)) return relativeRange(word, 0);
    if (word === 'LAST_N_DAYS' || word === 'NEXT_N_DAYS') {
      this.expectPunct(':');
      return relativeRange(word, this.integer());
    }
    throw malformedQuery(`unexpected token: '${t.text}'`);
  }
}

/** Parses a SOQL statement; MALFORMED_QUERY (400) with the offending token otherwise. */
export function parseSoql(soql: string): SoqlQuery {
  return new Parser(tokenize(soql)).query();
}
