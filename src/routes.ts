import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from './app.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { partnerLinkRoutes } from './links/partner-link.routes.ts';
import { partnerRoutes } from './partners/partner.routes.ts';
import { portalRoutes } from './portal/portal.routes.ts';
import { programRoutes } from './programs/program.routes.ts';
import { registrationRoutes } from './registrations/registration.routes.ts';
import { tenantRoutes } from './tenants/tenant.routes.ts';

type Routes = FastifyPluginAsync<{ deps: AppDeps }>;

/** Feature routes of the versioned API, mounted under /api/v1. Each feature adds its plugin here. */
export const apiRoutes: Routes[] = [
  tenantRoutes as Routes,
  auditRoutes as Routes,
  programRoutes as Routes,
  partnerLinkRoutes as Routes,
  registrationRoutes as Routes,
  partnerRoutes as Routes,
];

/** Feature routes outside the API: partner pages, webhooks, OAuth. */
export const pageRoutes: Routes[] = [portalRoutes as Routes];
