import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../../src/crm/crm.commands.ts';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: { isTTY, write: (chunk: string) => writes.push(chunk) } as unknown as NodeJS.WriteStream,
  };
}

describe('crm backfill progress', () => {
  it('redraws one bar in place on a terminal', () => {
    const { writes, stream } = fakeStream(true);
    const progress = progressReporter(stream);
    progress.update({ done: 2_500, total: 10_000 });
    progress.update({ done: 10_000, total: 10_000 });
    progress.end();
    expect(writes[0]).toBe(`\r[${'#'.repeat(8)}${'.'.repeat(22)}] 2500/10000 deals`);
    expect(writes[1]).toBe(`\r[${'#'.repeat(30)}] 10000/10000 deals`);
    expect(writes[2]).toBe('\n');
  });

  it('writes a plain line per tenth when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const progress = progressReporter(stream);
    for (let done = 100; done <= 10_000; done += 100) progress.update({ done, total: 10_000 });
    progress.end();
    expect(writes).toHaveLength(11);
    expect(writes.every((line) => !line.includes('\r') && line.endsWith(' deals\n'))).toBe(true);
    expect(writes.at(-1)).toBe('10000/10000 deals\n');
  });
});
