import type { AppDeps } from '../../app.ts';
import { AppError } from '../../errors/app-error.ts';

/** Every Salesforce route answers this until the app's credentials are configured. */
export function requireSalesforceConfigured(deps: Pick<AppDeps, 'config'>) {
  return async () => {
    if (!deps.config.salesforceClientId || !deps.config.salesforceClientSecret) {
      throw new AppError(
        'not_configured',
        "Salesforce is not configured: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET to your External Client App's consumer key and secret (SALESFORCE_LOGIN_URL and SALESFORCE_SANDBOX_LOGIN_URL when your login hosts are not Salesforce's defaults)",
      );
    }
  };
}
