import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from './app.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { commissionLineRoutes } from './commissions/commission-line.routes.ts';
import { commissionPlanRoutes } from './commissions/commission-plan.routes.ts';
import { retainerAgreementRoutes } from './commissions/retainer-agreement.routes.ts';
import { crmConnectionRoutes } from './crm/crm-connection.routes.ts';
import { hubspotOauthRoutes } from './crm/hubspot/hubspot-oauth.routes.ts';
import { hubspotWebhookRoutes } from './crm/hubspot/hubspot-webhook.routes.ts';
import { salesforceChangeCaptureRoutes } from './crm/salesforce/salesforce-change-capture.routes.ts';
import { salesforceOauthRoutes } from './crm/salesforce/salesforce-oauth.routes.ts';
import { stageMappingRoutes } from './crm/stage-mapping.routes.ts';
import { dealRoutes } from './deals/deal.routes.ts';
import { partnerLinkRoutes } from './links/partner-link.routes.ts';
import { brandingRoutes } from './messaging/branding.routes.ts';
import { emailPages } from './messaging/email-pages.routes.ts';
import { inboundEmailRoutes } from './messaging/inbound-email.routes.ts';
import { inboundNoteRoutes } from './messaging/inbound-notes.routes.ts';
import { partnerRoutes } from './partners/partner.routes.ts';
import { payoutRoutes } from './payouts/payout.routes.ts';
import { portalRoutes } from './portal/portal.routes.ts';
import { programRoutes } from './programs/program.routes.ts';
import { registrationRoutes } from './registrations/registration.routes.ts';
import { statementRoutes } from './statements/statement.routes.ts';
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
  retainerAgreementRoutes as Routes,
  commissionLineRoutes as Routes,
  commissionPlanRoutes as Routes,
  dealRoutes as Routes,
  payoutRoutes as Routes,
  statementRoutes as Routes,
  crmConnectionRoutes as Routes,
  stageMappingRoutes as Routes,
  salesforceChangeCaptureRoutes as Routes,
  inboundNoteRoutes as Routes,
  brandingRoutes as Routes,
];

/** Feature routes outside the API: partner pages, webhooks, OAuth. */
export const pageRoutes: Routes[] = [
  portalRoutes as Routes,
  hubspotOauthRoutes as Routes,
  hubspotWebhookRoutes as Routes,
  salesforceOauthRoutes as Routes,
  inboundEmailRoutes as Routes,
  emailPages as Routes,
];
