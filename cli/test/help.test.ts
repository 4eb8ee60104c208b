/**
 * `hplb --help` prints from a static table (so it loads no command and no library): the table must say what each
 * command module says of itself, and list every command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, SUMMARIES, loadCommand, main } from '../src/main.ts';

test('the help table equals every command module\'s own summary', async () => {
  for (const name of COMMANDS) assert.equal(SUMMARIES[name], (await loadCommand(name)).summary, `hplb ${name}`);
});

test('hplb --help lists every command with its summary and exits 0', async () => {
  let out = '';
  const code = await main(['--help'], { out: (s) => (out += s), err: () => undefined, tty: false, cwd: process.cwd() });
  assert.equal(code, 0);
  for (const name of COMMANDS) assert.ok(out.includes(`  ${name.padEnd(10)} ${SUMMARIES[name]}\n`), `help lacks ${name}`);
});
