// Outbound email: complete emails (subject, HTML, text) rendered per second on one core from
// templates compiled once (MJML → HTML with placeholders, then only data filled in per send),
// against compiling the MJML for every send. Goal: at least 1,000 renders/s and 50× faster.
import {
  compiledTemplate,
  compileMjml,
  loadTemplateSources,
  renderCompiled,
  TEMPLATE_NAMES,
  TEMPLATES,
} from '../src/messaging/email-templates.ts';
import { parseTemplate, type TemplateData } from '../src/messaging/template-engine.ts';
import { type BenchContext, median, round } from './lib.ts';

const GOAL_PER_SECOND = 1_000;
const GOAL_SPEEDUP = 50;
const RUNS = 5;
const COMPILED_PER_RUN = 3_000;
const PER_SEND_PER_RUN = 60;

function dataFor(i: number): TemplateData {
  const company = `Company ${i} <& "Partners">`;
  return {
    brand: {
      name: 'Acme Cloud',
      color: '#aa3300',
      logoUrl: i % 2 ? 'https://cdn.example.com/logo.png' : null,
    },
    recipient: { name: `Contact ${i}` },
    partner: { name: 'Northwind' },
    unsubscribeUrl: `https://partners.example.com/u/token${i}-deals`,
    kindLabel: 'deal updates',
    preheader: `Update ${i}`,
    daysLeft: 7,
    registration: {
      company,
      domain: 'example.com',
      programName: 'Resellers',
      reference: 'AB12',
      reason: 'dup',
      protectedUntil: '1 Dec 2026',
    },
    deal: {
      name: company,
      stage: 'Contract sent',
      stageMeaning: 'Signed soon',
      nextStep: 'Signature',
      amount: 'USD 1,000.00',
    },
    commission: { amount: 'USD 100.00', holdDays: 30 },
    payout: { amount: 'USD 250.00', reference: `PAY-${i}`, method: 'bank', paidOn: '2 Dec 2026' },
    digest: {
      count: 5,
      referrals: Array.from({ length: 5 }, (_, k) => ({
        company: `${company} ${k}`,
        status: 'approved',
        protectedUntil: '1 Dec 2026',
      })),
    },
    rep: { name: 'Sam' },
    message: { body: `Hello ${i}\nSee you Friday.` },
  };
}

async function rate(count: number, one: (i: number) => Promise<number> | number): Promise<number> {
  const started = performance.now();
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += await one(i);
  if (bytes === 0) throw new Error('rendered nothing');
  return count / ((performance.now() - started) / 1000);
}

export async function emailRender(ctx: BenchContext): Promise<void> {
  const compiled = await Promise.all(TEMPLATE_NAMES.map((name) => compiledTemplate(name)));
  const sources = await Promise.all(TEMPLATE_NAMES.map((name) => loadTemplateSources(name)));
  const n = TEMPLATE_NAMES.length;

  const renderCompiledOne = (i: number) => {
    const email = renderCompiled(compiled[i % n]!, dataFor(i));
    return email.html.length + email.text.length + email.subject.length;
  };
  // The same result, compiling the template's MJML for this one send (the sources are already read).
  const renderPerSendOne = async (i: number) => {
    const name = TEMPLATE_NAMES[i % n]!;
    const source = sources[i % n]!;
    const email = renderCompiled(
      {
        subject: parseTemplate(TEMPLATES[name].subject, 'text'),
        html: parseTemplate(await compileMjml(source.mjml), 'html'),
        text: parseTemplate(source.text, 'text'),
      },
      dataFor(i),
    );
    return email.html.length + email.text.length + email.subject.length;
  };

  await rate(300, renderCompiledOne);
  await rate(12, renderPerSendOne);
  const compiledRates: number[] = [];
  const perSendRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    compiledRates.push(await rate(COMPILED_PER_RUN, renderCompiledOne));
    perSendRates.push(await rate(PER_SEND_PER_RUN, renderPerSendOne));
    ctx.log(
      `run ${run + 1}: compiled ${round(compiledRates.at(-1)!)} /s, compiling per send ${round(perSendRates.at(-1)!, 1)} /s`,
    );
  }
  const perSecond = median(compiledRates);
  const perSendPerSecond = median(perSendRates);
  const speedup = perSecond / perSendPerSecond;
  ctx.report({
    bench: 'email-render',
    templates: n,
    rendersPerSecond: round(perSecond),
    compilingPerSendPerSecond: round(perSendPerSecond, 1),
    speedup: round(speedup, 1),
    goalPerSecond: GOAL_PER_SECOND,
    goalSpeedup: GOAL_SPEEDUP,
    meetsGoal: perSecond >= GOAL_PER_SECOND && speedup >= GOAL_SPEEDUP,
  });
}
