import type { Config } from '../config.ts';

/** The domain of our reply addresses (`reply+<token>@<domain>`), shared with the outbound side. */
export function replyDomainOf(config: Config): string {
  return config.inboundEmailDomain.toLowerCase();
}

/** Addresses we send from: mail from them coming back in is a loop. */
export function ownAddressesOf(config: Config): string[] {
  const match = /<([^>]+)>/.exec(config.emailFrom);
  return [(match ? match[1]! : config.emailFrom).trim().toLowerCase()];
}
