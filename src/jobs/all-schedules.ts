import type { Schedule } from './scheduler.ts';

/** Every recurring job of the application, with its period. Features add theirs. */
export const allSchedules: Schedule[] = [];
