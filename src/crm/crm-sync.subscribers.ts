import type { EventSubscriber } from '../events/publish-event.ts';
import { enqueueJob } from '../jobs/enqueue.ts';
import { REGISTRATION_NOTE_EVENTS } from './crm-notes.ts';
import { pushRegistrationJob } from './push-registration.job.ts';
import { writeTimelineNoteJob } from './write-timeline-note.job.ts';

/** A registration change → its CRM write (deal, properties, timeline note), deduplicated on the event. */
const pushRegistration: EventSubscriber = async (event, { db }) => {
  const registrationId =
    typeof event.data.registrationId === 'string' ? event.data.registrationId : event.subjectId;
  await enqueueJob(db, pushRegistrationJob, {
    tenantId: event.tenantId,
    registrationId,
    eventId: event.id,
    eventType: event.type,
    occurredAt: event.occurredAt,
    data: event.data,
  });
};

const writeTimelineNote: EventSubscriber = async (event, { db }) => {
  const noteId = typeof event.data.noteId === 'string' ? event.data.noteId : event.subjectId;
  await enqueueJob(db, writeTimelineNoteJob, { tenantId: event.tenantId, noteId });
};

/** The CRM feature's subscribers, listed in `events/all-subscribers.ts`. */
export const crmSyncSubscribers: { type: string; subscriber: EventSubscriber }[] = [
  ...REGISTRATION_NOTE_EVENTS.map((type) => ({ type, subscriber: pushRegistration })),
  { type: 'timeline_note.created', subscriber: writeTimelineNote },
];
