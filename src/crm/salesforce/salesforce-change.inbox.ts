import type { Db } from '../../db/database.ts';
import { acceptIntoInbox } from '../../inbox/inbox.repository.ts';
import type { OpportunityChangeEvent } from './salesforce-change-events.ts';
import { advanceReplayId } from './salesforce-change-stream.repository.ts';

/** What the inbox keeps of a change event: the org it came from and the message as received. */
export interface SalesforceInboxPayload {
  orgId: string;
  channel: string;
  event: OpportunityChangeEvent;
}

/** Replay ids are unique per org and channel: with the org id, unique in the inbox. */
export const salesforceSourceId = (orgId: string, channel: string, event: OpportunityChangeEvent) =>
  `${orgId}:${channel}:${event.event.replayId}`;

export class StreamLeaseLostError extends Error {
  constructor(tenantId: string) {
    super(`the change stream lease of tenant ${tenantId} is held by another process`);
    this.name = 'StreamLeaseLostError';
  }
}

/**
 * Stores received change events in the inbox with their processing jobs, and moves the tenant's
 * replay id to the last of them, in ONE transaction: the replay id never runs ahead of what is
 * stored (a restart resumes from the last stored event, nothing is lost), and a redelivered event
 * hits the inbox's unique source id and changes nothing. Refused (rolled back) when this process no
 * longer holds the tenant's lease: the process that took over receives these events itself.
 */
export async function storeChangeEvents(
  db: Db,
  stream: { tenantId: string; orgId: string; owner: string; channel: string },
  events: OpportunityChangeEvent[],
  receivedAt: Date,
): Promise<{ stored: number; duplicates: number }> {
  if (events.length === 0) return { stored: 0, duplicates: 0 };
  return db.transaction().execute(async (tx) => {
    const results = await acceptIntoInbox(
      tx,
      events.map((event) => ({
        source: 'salesforce',
        sourceId: salesforceSourceId(stream.orgId, stream.channel, event),
        tenantId: stream.tenantId,
        payload: { orgId: stream.orgId, channel: stream.channel, event } satisfies SalesforceInboxPayload,
      })),
    );
    const last = String(events.at(-1)!.event.replayId);
    if (!(await advanceReplayId(tx, stream.tenantId, stream.owner, last, receivedAt)))
      throw new StreamLeaseLostError(stream.tenantId);
    const duplicates = results.filter((r) => r.duplicate).length;
    return { stored: results.length - duplicates, duplicates };
  });
}
