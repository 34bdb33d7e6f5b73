import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from './app.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { tenantRoutes } from './tenants/tenant.routes.ts';

type Routes = FastifyPluginAsync<{ deps: AppDeps }>;

/** Feature routes of the versioned API, mounted under /api/v1. Each feature adds its plugin here. */
export const apiRoutes: Routes[] = [tenantRoutes as Routes, auditRoutes as Routes];

/** Feature routes outside the API: partner pages, webhooks, OAuth. */
export const pageRoutes: Routes[] = [];
