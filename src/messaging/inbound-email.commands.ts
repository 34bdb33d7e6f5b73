import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { config, UsageError } from '../cli-context.ts';

/** `partnerloop email parse <file.eml>`: what inbound processing sees in a message, to check one by hand. */
export function registerInboundEmailCommands(program: Command): void {
  // The outbound side may register `email` too: share the group.
  const email =
    program.commands.find((c) => c.name() === 'email') ??
    program.command('email').description('partner emails: check inbound messages');
  email
    .command('parse')
    .description(
      'print as JSON what reply processing sees in a raw .eml: from, token, autoReply, reply, quoted',
    )
    .argument('<file>', 'a raw RFC 5322 message (.eml)')
    .action(async (file: string) => {
      let raw: Buffer;
      try {
        raw = await readFile(file);
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
      }
      const cfg = config();
      const { analyzeInbound } = await import('./inbound-analyze.ts');
      const { ownAddressesOf, replyDomainOf } = await import('./inbound-config.ts');
      const analysis = await analyzeInbound(raw, {
        replyDomain: replyDomainOf(cfg),
        ownAddresses: ownAddressesOf(cfg),
        authservId: cfg.inboundAuthservId,
      });
      const { parsed } = analysis;
      console.log(
        JSON.stringify(
          {
            from: parsed?.from ?? null,
            token: analysis.tokens[0]?.token ?? null,
            tokenVia: analysis.tokens[0]?.via ?? null,
            autoReply: { value: analysis.autoReply.value, why: analysis.autoReply.why },
            fromUs: analysis.fromUs,
            authentication: analysis.auth,
            malformed: analysis.malformed,
            subject: parsed?.subject ?? null,
            reply: analysis.trim?.reply ?? null,
            quoted: analysis.trim?.quoted ?? null,
            trimmedVia: analysis.trim?.via ?? null,
          },
          null,
          2,
        ),
      );
    });
}
