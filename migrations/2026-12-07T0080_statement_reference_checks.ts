import { type Kysely, sql } from 'kysely';

// The references of the rows a posting writes in bulk, checked once per statement instead of once
// per row: a ledger entry's transaction and account, a commission line's ledger transaction,
// program, partner and deal, a deal event's deal.
//
// A foreign key checks each inserted row with a query of its own that also locks the parent row
// (FOR KEY SHARE) until commit, so the parent cannot be deleted meanwhile. A batch of 100 won deals
// writes 400 entries, 300 lines and 100 events: 2,100 such checks, 25 ms of the batch's 66 ms in
// PostgreSQL by auto_explain's trigger times (one worker), and every worker's checks lock the
// program's one row. Here one query per statement (anti-joins over the distinct keys of its new
// rows, from a transition table) checks the same thing: each reference exists in the row's tenant.
// It runs when the statement ends, as the foreign keys' checks did, and fails it with the same
// SQLSTATE (23503). For the same batch these checks take about 3 ms.
//
// What the lock protected is kept by refusing it outright: those parents are never deleted or
// truncated and their key (tenant, id) never changes. Ledger transactions already refused it
// (append-only); accounts, partners, programs and deals refuse it below: they name money the
// ledger holds. Nothing in the service deletes them (a CRM deletion marks the deal). A reference
// column of a line or an event cannot change either. The other foreign keys stay as they were.
//
// The checks see what their statement's snapshot sees: under READ COMMITTED (every write of the
// service) a parent committed by another transaction before the check is found, as a foreign key
// would find it; a REPEATABLE READ writer would be told a parent committed after its snapshot is
// missing (a false refusal, never an orphan).
//
// One statement per call (PGlite runs one statement per prepared query).
const CHECKED = [
  [
    'ledger_entries',
    'ledger_entries_transaction_fk',
    '(tenant_id, transaction_id) references ledger_transactions (tenant_id, id)',
  ],
  [
    'ledger_entries',
    'ledger_entries_account_fk',
    '(tenant_id, account_id) references ledger_accounts (tenant_id, id)',
  ],
  [
    'commission_lines',
    'commission_lines_transaction_fk',
    '(ledger_transaction_id) references ledger_transactions (id)',
  ],
  [
    'commission_lines',
    'commission_lines_program_fk',
    '(tenant_id, program_id) references programs (tenant_id, id)',
  ],
  [
    'commission_lines',
    'commission_lines_partner_fk',
    '(tenant_id, partner_id) references partners (tenant_id, id)',
  ],
  ['commission_lines', 'commission_lines_deal_fk', '(tenant_id, deal_id) references deals (tenant_id, id)'],
  ['deal_events', 'deal_events_deal_fk', '(tenant_id, deal_id) references deals (tenant_id, id)'],
] as const;

/** Parents whose rows the checks rely on: never deleted, truncated or re-keyed. */
const KEPT = ['ledger_accounts', 'partners', 'programs', 'deals'] as const;

/** Anti-join: the first key of `column` in `rows` that names no row of `parent` in its tenant. */
const missing = (what: string, rows: string, column: string, parent: string) => `
  select '${what}' as what, k.id
  from (select distinct tenant_id, ${column} as id from ${rows} where ${column} is not null) k
  where not exists (select 1 from ${parent} p where p.tenant_id = k.tenant_id and p.id = k.id)`;

const CHECKS = [
  {
    table: 'ledger_entries',
    rows: 'new_entries',
    references: [
      missing('transaction', 'new_entries', 'transaction_id', 'ledger_transactions'),
      missing('account', 'new_entries', 'account_id', 'ledger_accounts'),
    ],
    fixed: [] as string[],
  },
  {
    table: 'commission_lines',
    rows: 'new_lines',
    references: [
      missing('ledger transaction', 'new_lines', 'ledger_transaction_id', 'ledger_transactions'),
      missing('program', 'new_lines', 'program_id', 'programs'),
      missing('partner', 'new_lines', 'partner_id', 'partners'),
      missing('deal', 'new_lines', 'deal_id', 'deals'),
    ],
    fixed: ['ledger_transaction_id', 'program_id', 'partner_id', 'deal_id'],
  },
  {
    table: 'deal_events',
    rows: 'new_events',
    references: [missing('deal', 'new_events', 'deal_id', 'deals')],
    fixed: ['deal_id'],
  },
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, constraint] of CHECKED)
    await sql`alter table ${sql.table(table)} drop constraint ${sql.raw(constraint)}`.execute(db);

  for (const check of CHECKS) {
    // Separate anti-joins in a union: an OR of NOT EXISTS would read every row of the tenant. The
    // plan is pinned to what a foreign key does, an index probe per key: PL/pgSQL keeps a plan made
    // while the tables were small, and a hash join over all of ledger_transactions kept so took a
    // single posting 62 ms once the table held 20,000 rows (ledger-postings: 586/s became 165/s).
    await sql`
      create function ${sql.raw(`${check.table}_check_references`)}() returns trigger language plpgsql
      set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off
      as $$
      declare
        bad record;
      begin
        select x.what, x.id into bad from (${sql.raw(check.references.join(' union all '))}) x limit 1;
        if found then
          raise exception '${sql.raw(check.table)}: a new row names % %, which does not exist in its tenant', bad.what, bad.id
            using errcode = '23503', table = '${sql.raw(check.table)}';
        end if;
        return null;
      end
      $$`.execute(db);
    await sql`
      create trigger ${sql.raw(`${check.table}_references`)}
      after insert on ${sql.table(check.table)}
      referencing new table as ${sql.raw(check.rows)}
      for each statement execute function ${sql.raw(`${check.table}_check_references`)}()`.execute(db);
  }

  // Transition tables cannot be declared on triggers with a column list, so a change of a checked
  // reference is refused rather than checked. Arguments: the columns that cannot change.
  await sql`
    create function refuse_reference_change() returns trigger language plpgsql as $$
    declare
      col text;
    begin
      foreach col in array tg_argv loop
        if to_jsonb(new) -> col is distinct from to_jsonb(old) -> col then
          raise exception '%: % of row % cannot change', tg_table_name, col, old.id
            using errcode = 'P0001', hint = 'reference_fixed';
        end if;
      end loop;
      return new;
    end
    $$`.execute(db);
  for (const check of CHECKS) {
    if (check.fixed.length === 0) continue; // ledger entries refuse every update already
    await sql`
      create trigger ${sql.raw(`${check.table}_references_fixed`)}
      before update of ${sql.raw(check.fixed.join(', '))} on ${sql.table(check.table)}
      for each row execute function refuse_reference_change(${sql.raw(check.fixed.map((c) => `'${c}'`).join(', '))})`.execute(
      db,
    );
  }

  await sql`
    create function refuse_delete() returns trigger language plpgsql as $$
    begin
      raise exception '% on % refused: its rows name money the ledger holds and are never deleted',
        tg_op, tg_table_name
        using errcode = 'P0001', hint = 'kept_for_ledger';
    end
    $$`.execute(db);
  for (const table of KEPT) {
    await sql`
      create trigger ${sql.raw(`${table}_no_delete`)}
      before delete on ${sql.table(table)}
      for each row execute function refuse_delete()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_no_truncate`)}
      before truncate on ${sql.table(table)}
      for each statement execute function refuse_delete()`.execute(db);
    await sql`
      create trigger ${sql.raw(`${table}_key_fixed`)}
      before update of id, tenant_id on ${sql.table(table)}
      for each row execute function refuse_reference_change('id', 'tenant_id')`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of KEPT) {
    for (const suffix of ['key_fixed', 'no_truncate', 'no_delete'])
      await sql`drop trigger ${sql.raw(`${table}_${suffix}`)} on ${sql.table(table)}`.execute(db);
  }
  await sql`drop function refuse_delete()`.execute(db);
  for (const check of CHECKS) {
    if (check.fixed.length > 0)
      await sql`drop trigger ${sql.raw(`${check.table}_references_fixed`)} on ${sql.table(check.table)}`.execute(
        db,
      );
    await sql`drop trigger ${sql.raw(`${check.table}_references`)} on ${sql.table(check.table)}`.execute(db);
    await sql`drop function ${sql.raw(`${check.table}_check_references`)}()`.execute(db);
  }
  await sql`drop function refuse_reference_change()`.execute(db);
  for (const [table, constraint, definition] of CHECKED)
    await sql`alter table ${sql.table(table)} add constraint ${sql.raw(constraint)} foreign key ${sql.raw(definition)}`.execute(
      db,
    );
}
