import { type Kysely, sql } from 'kysely';

// The ledger's own references, checked once per statement instead of once per row.
//
// A foreign key checks each inserted row with its own query that also locks the parent row (FOR KEY
// SHARE), so the parent cannot be deleted before the child commits. A posting of 100 won deals
// writes 400 entries and 300 commission lines: 1,100 such checks for these three keys alone, about
// 12 ms of the batch's 66 ms in PostgreSQL (auto_explain's trigger times). Their parents here are
// ledger rows that are never deleted: transactions are append-only (a trigger refuses update, delete
// and truncate) and accounts are refused delete, truncate and a change of key below. So the lock
// protects nothing, and one anti-join over the statement's new rows (a transition table) checks
// the same thing: the row names a transaction and an account that exist in its tenant. The checks
// run when the statement ends, as the foreign keys did, and fail it with the same SQLSTATE (23503).
//
// The other references of commission lines (program, partner, deal, reversed line, payout) keep
// their foreign keys: those parents are not ledger rows. `partnerloop ledger verify` still checks
// every entry's account and transaction (entry_matches_account_and_transaction).
//
// One statement per call (PGlite runs one statement per prepared query).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table ledger_entries drop constraint ledger_entries_transaction_fk`.execute(db);
  await sql`alter table ledger_entries drop constraint ledger_entries_account_fk`.execute(db);
  await sql`alter table commission_lines drop constraint commission_lines_transaction_fk`.execute(db);

  await sql`
    create function ledger_entries_check_references() returns trigger language plpgsql as $$
    declare
      bad record;
    begin
      -- Two anti-joins over the distinct keys (an OR of NOT EXISTS would read every row of the tenant).
      select x.kind, x.id into bad
      from (
        select 'transaction' as kind, k.id
        from (select distinct tenant_id, transaction_id as id from new_entries) k
        where not exists (select 1 from ledger_transactions t where t.tenant_id = k.tenant_id and t.id = k.id)
        union all
        select 'account', k.id
        from (select distinct tenant_id, account_id as id from new_entries) k
        where not exists (select 1 from ledger_accounts a where a.tenant_id = k.tenant_id and a.id = k.id)
      ) x
      limit 1;
      if found then
        raise exception 'ledger entry names % %, which does not exist in its tenant', bad.kind, bad.id
          using errcode = '23503', table = 'ledger_entries';
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger ledger_entries_references
    after insert on ledger_entries
    referencing new table as new_entries
    for each statement execute function ledger_entries_check_references()`.execute(db);

  await sql`
    create function commission_lines_check_transaction() returns trigger language plpgsql as $$
    declare
      bad record;
    begin
      select k.id into bad
      from (select distinct tenant_id, ledger_transaction_id as id from new_lines) k
      where not exists (select 1 from ledger_transactions t where t.tenant_id = k.tenant_id and t.id = k.id)
      limit 1;
      if found then
        raise exception 'commission line names ledger transaction %, which does not exist in its tenant', bad.id
          using errcode = '23503', table = 'commission_lines';
      end if;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger commission_lines_transaction_reference
    after insert on commission_lines
    referencing new table as new_lines
    for each statement execute function commission_lines_check_transaction()`.execute(db);
  // A line's ledger transaction is what it posted: it never changes (transition tables cannot be
  // declared with a column list, so a change is refused rather than checked).
  await sql`
    create function commission_lines_refuse_transaction_change() returns trigger language plpgsql as $$
    begin
      if new.ledger_transaction_id is distinct from old.ledger_transaction_id then
        raise exception 'commission line %: its ledger transaction cannot change', old.id
          using errcode = 'P0001', hint = 'ledger_append_only';
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`
    create trigger commission_lines_transaction_fixed
    before update of ledger_transaction_id on commission_lines
    for each row execute function commission_lines_refuse_transaction_change()`.execute(db);

  // Accounts hold the balances of entries that cannot be deleted: they are never deleted either,
  // and their key (tenant, id) never changes. Their balance and version do (every posting).
  await sql`
    create trigger ledger_accounts_no_delete
    before delete on ledger_accounts
    for each row execute function ledger_refuse_change()`.execute(db);
  await sql`
    create trigger ledger_accounts_no_truncate
    before truncate on ledger_accounts
    for each statement execute function ledger_refuse_change()`.execute(db);
  await sql`
    create function ledger_accounts_refuse_key_change() returns trigger language plpgsql as $$
    begin
      if new.id is distinct from old.id or new.tenant_id is distinct from old.tenant_id then
        raise exception 'ledger account %: its id and tenant cannot change', old.id
          using errcode = 'P0001', hint = 'ledger_append_only';
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`
    create trigger ledger_accounts_key_fixed
    before update of id, tenant_id on ledger_accounts
    for each row execute function ledger_accounts_refuse_key_change()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger ledger_accounts_key_fixed on ledger_accounts`.execute(db);
  await sql`drop function ledger_accounts_refuse_key_change()`.execute(db);
  await sql`drop trigger ledger_accounts_no_truncate on ledger_accounts`.execute(db);
  await sql`drop trigger ledger_accounts_no_delete on ledger_accounts`.execute(db);
  await sql`drop trigger commission_lines_transaction_fixed on commission_lines`.execute(db);
  await sql`drop function commission_lines_refuse_transaction_change()`.execute(db);
  await sql`drop trigger commission_lines_transaction_reference on commission_lines`.execute(db);
  await sql`drop function commission_lines_check_transaction()`.execute(db);
  await sql`drop trigger ledger_entries_references on ledger_entries`.execute(db);
  await sql`drop function ledger_entries_check_references()`.execute(db);
  await sql`
    alter table commission_lines add constraint commission_lines_transaction_fk
    foreign key (ledger_transaction_id) references ledger_transactions (id)`.execute(db);
  await sql`
    alter table ledger_entries add constraint ledger_entries_account_fk
    foreign key (tenant_id, account_id) references ledger_accounts (tenant_id, id)`.execute(db);
  await sql`
    alter table ledger_entries add constraint ledger_entries_transaction_fk
    foreign key (tenant_id, transaction_id) references ledger_transactions (tenant_id, id)`.execute(db);
}
