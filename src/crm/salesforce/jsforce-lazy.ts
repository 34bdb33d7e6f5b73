import { createRequire } from 'node:module';
import type jsforceModule from 'jsforce';

const require = createRequire(import.meta.url);
let loaded: typeof jsforceModule | undefined;

/**
 * jsforce, loaded on first use: ~150 ms of module loading that a start without Salesforce never
 * needs. It is a CommonJS package, so the first call loads it synchronously, as a static import
 * would have at start.
 */
export function jsforce(): typeof jsforceModule {
  loaded ??= require('jsforce') as typeof jsforceModule;
  return loaded;
}
