import type { Db } from '../src/db/database.ts';
import { sleep, withTimeout } from './lib.ts';

/**
 * For time-to-ledger figures: polls commission_lines every `pollMs` for the deals awaited and
 * notes when each one's first line is seen (performance.now()), so a figure carries up to `pollMs`
 * of resolution. Expect a deal before triggering the change that should post its line.
 */
export function watchCommissionLines(db: Db, tenantId: string, pollMs: number) {
  const waiting = new Map<string, (at: number) => void>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (waiting.size > 0) {
        const rows = await db
          .selectFrom('commission_lines')
          .select('deal_id')
          .distinct()
          .where('tenant_id', '=', tenantId)
          .where('deal_id', 'in', [...waiting.keys()])
          .execute();
        const now = performance.now();
        for (const row of rows) {
          waiting.get(row.deal_id as string)?.(now);
          waiting.delete(row.deal_id as string);
        }
      }
      await sleep(pollMs);
    }
  })();
  return {
    /** When the deal's first commission line was seen; rejects after `timeoutMs`. */
    expect(dealId: string, what: string, timeoutMs = 60_000): Promise<number> {
      const seen = new Promise<number>((resolve) => waiting.set(dealId, resolve));
      return withTimeout(seen, timeoutMs, () => {
        waiting.delete(dealId);
        return `no commission line for ${what} after ${timeoutMs / 1000} s`;
      });
    },
    async stop(): Promise<void> {
      polling = false;
      await poller;
    },
  };
}
