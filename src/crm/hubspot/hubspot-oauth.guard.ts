import type { AppDeps } from '../../app.ts';
import { AppError } from '../../errors/app-error.ts';

/** Every HubSpot route answers this until the app's credentials are configured. */
export function requireHubspotConfigured(deps: Pick<AppDeps, 'config'>) {
  return async () => {
    if (!deps.config.hubspotClientId || !deps.config.hubspotClientSecret) {
      throw new AppError(
        'not_configured',
        "HubSpot is not configured: set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET (and HUBSPOT_APP_ID) to your HubSpot app's values",
      );
    }
  };
}
