import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { EventSubscribers } from './events/publish-event.ts';
import type { InboxProcessors } from './inbox/inbox-processors.ts';
import type { Secrets } from './secrets.ts';

/**
 * What route handlers, job handlers and CLI commands need beyond the database: built once per
 * process by the runtime, replaced piecemeal by tests. Features add their services here.
 */
export interface Services {
  config: Config;
  secrets: Secrets;
  clock: Clock;
  inboxProcessors: InboxProcessors;
  eventSubscribers: EventSubscribers;
}
