import { randomBytes } from 'node:crypto';
import { upsertConnection } from '../src/crm/crm-connection.repository.ts';
import { backfillDeals } from '../src/crm/crm-reconcile.ts';
import { insertTenant } from '../src/tenants/tenant.repository.ts';
import { createTestDatabase } from '../test/helpers/test-database.ts';
import { createTestRuntime } from '../test/helpers/test-runtime.ts';
import { startLocalHubspot } from '../test/hubspot/local-hubspot.ts';
import { type BenchContext, round } from './lib.ts';

const DEALS = Number(process.env.BENCH_HUBSPOT_DEALS ?? 10_000);
const STAGES = ['appointmentscheduled', 'qualifiedtobuy', 'contractsent', 'closedwon', 'closedlost'];

/**
 * The full backfill (`partnerloop crm backfill`) of a portal holding 10,000 deals, against the local
 * HubSpot enforcing HubSpot's documented limit (110 requests per 10 s): the time it takes, the
 * calls it makes and the 429s it gets (the goal: none). PostgreSQL when DATABASE_URL is set (a fresh
 * database), else PGlite; Redis-backed rate limiting when REDIS_URL is set.
 */
export async function hubspotBackfill(ctx: BenchContext): Promise<void> {
  const hubspot = await startLocalHubspot();
  const database = await createTestDatabase();
  const runtime = await createTestRuntime(database, {
    env: { HUBSPOT_API_BASE: hubspot.url, LOG_LEVEL: 'warn' },
  });
  try {
    const portalId = 70_000_000 + Math.floor(Math.random() * 1_000_000);
    const tenant = await insertTenant(runtime.db, {
      name: `Bench ${randomBytes(3).toString('hex')}`,
      crmKind: 'hubspot',
      crmAccountId: String(portalId),
    });
    await runtime.db.transaction().execute((tx) =>
      upsertConnection(tx, runtime.services.secrets.tokenEncryptionKey, {
        tenantId: tenant.id,
        crmKind: 'hubspot',
        accountId: String(portalId),
        tokens: {
          accessToken: hubspot.state.issueToken(portalId, 60 * 60_000),
          refreshToken: 'bench',
          expiresAt: new Date(Date.now() + 60 * 60_000),
        },
        scopes: [],
        installedBy: null,
      }),
    );
    for (let i = 0; i < DEALS; i++) {
      hubspot.state.seed(portalId, 'deals', {
        dealname: `Deal ${i}`,
        pipeline: 'default',
        dealstage: STAGES[i % STAGES.length]!,
        amount: `${1000 + i}.50`,
      });
    }
    ctx.log(`${DEALS} deals seeded in the local HubSpot; backfilling`);
    const started = performance.now();
    let lastLogged = 0;
    const result = await backfillDeals(runtime.db, runtime.services, tenant.id, ({ done }) => {
      if (done - lastLogged >= 2_000) {
        lastLogged = done;
        ctx.log(`${done}/${DEALS} deals`);
      }
    });
    const seconds = (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`backfill failed: ${result.error.kind}: ${result.error.message}`);
    ctx.report({
      bench: 'hubspot-backfill',
      db: runtime.config.databaseUrl ? 'postgres' : 'pglite',
      rateLimiter: runtime.config.redisUrl ? 'redis' : 'in-process',
      deals: result.value.deals,
      seconds: round(seconds, 1),
      dealsPerSec: round(result.value.deals / seconds),
      hubspotCalls: result.value.calls,
      responses429: hubspot.state.metrics.rateLimited,
      goal429: 0,
      metGoal: hubspot.state.metrics.rateLimited === 0 && result.value.deals === DEALS,
    });
  } finally {
    await runtime.close();
    await database.destroy();
    await hubspot.close();
  }
}
