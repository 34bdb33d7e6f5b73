/*
 * The independent in-memory model of ledger-model.property.test.ts: pure TypeScript, no import from
 * src/. It knows the plan of the test program (a 10% revenue share to the deal's partner and a 10%
 * override of that commission to the partner's parent) and the house's conventions: the latest
 * occurredAt per field decides, a deal owes only while won, a change posts the difference with what
 * is held (an unchanged line stays, a changed one is reversed and accrued again, and an override
 * goes with its commission), the parent is the one recorded when the commission accrued, pending
 * lines are cancelled within pending, approved and paid ones are taken back from payable, approval
 * takes lines past their hold, and a payout pays a partner's net approved lines when it is positive
 * and at least the minimum.
 */

export const LEAVES = ['L0', 'L1'] as const;
export const PARTNERS = ['X', 'Y', 'L0', 'L1'] as const;
export type Name = (typeof PARTNERS)[number];
type Leaf = (typeof LEAVES)[number];

export interface ModelEvent {
  id: string;
  deal: number;
  kind: 'won' | 'lost' | 'amount';
  amount?: bigint;
  at: number;
}

type Status = 'pending' | 'approved' | 'paid' | 'cancelled';

interface Line {
  partner: Name;
  amount: bigint;
  status: Status;
  holdUntil: number;
  /** Not reversed (for a clawback line: false). */
  live: boolean;
  /** In a payout already. */
  claimed: boolean;
  /** On a commission line: the parent recorded when it accrued. */
  parent?: Name;
}

interface Deal {
  leaf: Leaf;
  stage?: { won: boolean; at: number };
  amount?: { value: bigint; at: number };
  commission?: Line;
  override?: Line;
}

export interface Model {
  now: number;
  seq: number;
  deals: Deal[];
  parents: Record<Leaf, Name>;
  lines: Line[];
  /** Every event delivered (a duplicate is drawn from these). */
  events: ModelEvent[];
  payouts: number;
}

export function newModel(now: number, deals: number): Model {
  return {
    now,
    seq: 0,
    deals: Array.from({ length: deals }, (_, d) => ({ leaf: d % 2 === 0 ? 'L0' : 'L1' })),
    parents: { L0: 'X', L1: 'Y' },
    lines: [],
    events: [],
    payouts: 0,
  };
}

/** n/10 rounded half to even. */
export function tenth(value: bigint): bigint {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  let q = abs / 10n;
  const r = abs % 10n;
  if (r > 5n || (r === 5n && q % 2n === 1n)) q += 1n;
  return negative ? -q : q;
}

function accrue(
  model: Model,
  partner: Name,
  amount: bigint,
  at: number,
  holdMs: number,
  parent?: Name,
): Line | undefined {
  if (amount === 0n) return undefined;
  const line: Line = {
    partner,
    amount,
    status: 'pending',
    holdUntil: at + holdMs,
    live: true,
    claimed: false,
  };
  if (parent) line.parent = parent;
  model.lines.push(line);
  return line;
}

function reverse(model: Model, line: Line, at: number): void {
  line.live = false;
  if (line.status === 'pending') {
    line.status = 'cancelled';
    model.lines.push({
      partner: line.partner,
      amount: -line.amount,
      status: 'cancelled',
      holdUntil: at,
      live: false,
      claimed: false,
    });
  } else {
    // Approved or paid: the clawback is approved at once, on payable (which may go negative).
    model.lines.push({
      partner: line.partner,
      amount: -line.amount,
      status: 'approved',
      holdUntil: at,
      live: false,
      claimed: false,
    });
  }
}

/** Posts the difference between what the deal owes now and what it holds. */
function settle(model: Model, deal: Deal, at: number, holdMs: number): void {
  const owes = deal.stage?.won === true && deal.amount !== undefined;
  const held = deal.commission;
  const parent = held ? held.parent! : model.parents[deal.leaf];
  let moved = false;
  if (!owes) {
    if (held) reverse(model, held, at);
    deal.commission = undefined;
    moved = true;
  } else {
    const owed = tenth(deal.amount!.value);
    if (!held || held.amount !== owed) {
      if (held) reverse(model, held, at);
      deal.commission = accrue(model, deal.leaf, owed, at, holdMs, parent);
      moved = true;
    }
  }
  const heldOverride = deal.override;
  const owedOverride = owes ? tenth(tenth(deal.amount!.value)) : null;
  if (owedOverride === null) {
    if (heldOverride) reverse(model, heldOverride, at);
    deal.override = undefined;
  } else if (
    moved ||
    !heldOverride ||
    heldOverride.amount !== owedOverride ||
    heldOverride.partner !== parent
  ) {
    if (heldOverride) reverse(model, heldOverride, at);
    deal.override = accrue(model, parent, owedOverride, at, holdMs);
  }
}

/** Records an event: each field changes only when the event is newer than its last change. */
export function applyEvent(model: Model, event: ModelEvent, holdMs: number): void {
  model.events.push(event);
  const deal = model.deals[event.deal]!;
  let applied = false;
  if (event.kind === 'amount') {
    if (!deal.amount || event.at > deal.amount.at) {
      deal.amount = { value: event.amount!, at: event.at };
      applied = true;
    }
  } else if (!deal.stage || event.at > deal.stage.at) {
    deal.stage = { won: event.kind === 'won', at: event.at };
    applied = true;
  }
  if (applied) settle(model, deal, event.at, holdMs);
}

export function approveDue(model: Model): void {
  for (const line of model.lines)
    if (line.status === 'pending' && line.holdUntil <= model.now) line.status = 'approved';
}

export function payoutDue(model: Model, minimum: bigint): void {
  for (const partner of PARTNERS) {
    const open = model.lines.filter((l) => l.partner === partner && l.status === 'approved' && !l.claimed);
    const net = open.reduce((sum, l) => sum + l.amount, 0n);
    if (net <= 0n || net < minimum) continue;
    for (const line of open) {
      line.status = 'paid';
      line.claimed = true;
    }
    model.payouts++;
  }
}

/** Moves a leaf under the other top partner; returns the new parent. */
export function reparent(model: Model, leaf: Leaf): Name {
  const next: Name = model.parents[leaf] === 'X' ? 'Y' : 'X';
  model.parents[leaf] = next;
  return next;
}

export function balancesOf(model: Model, partner: Name): { pending: bigint; payable: bigint; paid: bigint } {
  const sum = (statuses: Status[]) =>
    model.lines
      .filter((l) => l.partner === partner && statuses.includes(l.status))
      .reduce((total, l) => total + l.amount, 0n);
  return { pending: sum(['pending']), payable: sum(['approved']), paid: sum(['paid']) };
}
