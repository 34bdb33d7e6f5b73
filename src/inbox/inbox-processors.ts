import type { Logger } from 'pino';
import { hubspotInboxProcessor } from '../crm/hubspot/hubspot-deal-events.ts';
import { salesforceInboxProcessor } from '../crm/salesforce/salesforce-deal-events.ts';
import type { Tx } from '../db/database.ts';
import { processInboundEmail } from '../messaging/inbound-email.processor.ts';
import type { Services } from '../services.ts';
import type { InboxRow } from './inbox.table.ts';

export interface InboxProcessorContext {
  log: Logger;
  services: Services;
}

/**
 * Turns one stored inbound event into domain changes, inside the transaction that marks it
 * processed. Returns a short outcome for the record ("applied", "ignored: older than last change").
 */
export type InboxProcessor = (
  tx: Tx,
  event: InboxRow,
  ctx: InboxProcessorContext,
) => Promise<string | undefined>;

/** Processors by inbox source ('hubspot', 'salesforce', 'email', …); each CRM or channel adds its own. */
export type InboxProcessors = ReadonlyMap<string, InboxProcessor>;

/** The application's processors by source: the CRM and email features add theirs here. */
export const allInboxProcessors: Record<string, InboxProcessor> = {
  email: processInboundEmail,
  hubspot: hubspotInboxProcessor,
  salesforce: salesforceInboxProcessor,
};
