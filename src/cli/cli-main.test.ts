import { describe, expect, it } from 'vitest';
import { runCli } from './cli-test-support.js';

describe('main() dispatch', () => {
  it('prints usage with exit 127 without a command, like Vault', async () => {
    const r = await runCli(undefined, []);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('Usage: secrets-sync <command> [options] [args]');
  });

  it('rejects an unknown command with exit 127', async () => {
    const r = await runCli(undefined, ['frobnicate']);
    expect(r.code).toBe(127);
    expect(r.stderr.startsWith('Unknown command: frobnicate\n')).toBe(true);
  });

  it('shows a group\'s subcommands (exit 1), command help on -h (exit 0)', async () => {
    const g = await runCli(undefined, ['kv', 'metadata']);
    expect(g.code).toBe(1);
    expect(g.stderr).toContain('Usage: secrets-sync kv metadata <subcommand>');
    const h = await runCli(undefined, ['kv', 'put', '-h']);
    expect(h.code).toBe(0);
    expect(h.stderr).toContain('Usage: secrets-sync kv put [options] KEY [DATA]');
    expect(h.stderr).toContain('-mount=<string>');
  });

  it('prints the version', async () => {
    const r = await runCli(undefined, ['version']);
    expect(r).toMatchObject({ code: 0, stdout: 'secrets-sync v0.1.0\n' });
  });
});
