import { commissionSubscribers } from '../commissions/commission.subscribers.ts';
import { crmSyncSubscribers } from '../crm/crm-sync.subscribers.ts';
import { emailSubscribers } from '../messaging/email.subscribers.ts';
import type { EventSubscriber, EventSubscribers } from './publish-event.ts';

/**
 * Who reacts to which domain event: the CRM, email and commission features add theirs here, as the
 * jobs are listed in `jobs/all-jobs.ts`. The runtime builds `services.eventSubscribers` from it.
 */
export const allSubscribers: { type: string; subscriber: EventSubscriber }[] = [
  ...crmSyncSubscribers,
  ...commissionSubscribers,
  ...emailSubscribers,
];

export function subscriberMap(list = allSubscribers): EventSubscribers {
  const map = new Map<string, EventSubscriber[]>();
  for (const { type, subscriber } of list) map.set(type, [...(map.get(type) ?? []), subscriber]);
  return map;
}
