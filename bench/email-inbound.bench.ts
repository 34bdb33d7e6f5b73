// Inbound email: messages parsed (mailparser) and trimmed (HTML extractors, our marker, the text
// trimmer) per second on one core, over the mixed client fixture set of test/fixtures/email (Gmail,
// Outlook desktop/web/mobile, Apple Mail, iOS, Thunderbird, Yahoo, Proton, several languages,
// HTML-only, inline replies, out-of-office). Goal: at least 500 messages/s.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { analyzeInbound } from '../src/messaging/inbound-analyze.ts';
import { type BenchContext, median, ROOT, round } from './lib.ts';

const GOAL_PER_SECOND = 500;
const RUNS = 5;
const MESSAGES_PER_RUN = 2_000;
const WARMUP = 200;

export async function emailInbound(ctx: BenchContext): Promise<void> {
  const dir = path.join(ROOT, 'test/fixtures/email');
  const messages = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f)));
  if (messages.length === 0) throw new Error(`no .eml fixtures in ${dir}`);
  const options = { replyDomain: 'reply.app.partnerloop.test', authservId: 'mx.partnerloop.test' };
  ctx.log(`${messages.length} fixtures, ${MESSAGES_PER_RUN} messages per run, ${RUNS} runs`);

  let checksum = 0;
  const one = async (i: number) => {
    const analysis = await analyzeInbound(messages[i % messages.length]!, options);
    checksum += analysis.trim?.reply.length ?? 0;
  };
  for (let i = 0; i < WARMUP; i++) await one(i);

  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    for (let i = 0; i < MESSAGES_PER_RUN; i++) await one(i);
    const seconds = (performance.now() - started) / 1000;
    rates.push(MESSAGES_PER_RUN / seconds);
    ctx.log(`run ${run + 1}: ${round(MESSAGES_PER_RUN / seconds)} messages/s`);
  }
  const perSecond = median(rates);
  ctx.report({
    bench: 'email-inbound',
    fixtures: messages.length,
    messagesPerRun: MESSAGES_PER_RUN,
    runs: RUNS,
    messagesPerSecond: round(perSecond),
    bestPerSecond: round(Math.max(...rates)),
    meanMsPerMessage: round(1000 / perSecond, 3),
    goalPerSecond: GOAL_PER_SECOND,
    meetsGoal: perSecond >= GOAL_PER_SECOND,
    checksum,
  });
}
