/** The README's configuration examples parse and validate (so a newcomer's copy-paste works). */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServerConfig } from '../../src/config/server-config.js';

const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
const hclBlocks = [...readme.matchAll(/```hcl\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README configuration examples', () => {
  it('has HCL examples', () => expect(hclBlocks.length).toBeGreaterThanOrEqual(2));

  it('every HCL example is a valid server config (fragments completed with a listener)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'readme-'));
    const keyFile = join(dir, 'seal.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'));
    const env = { SECRETS_SYNC_SEAL_KEY: randomBytes(32).toString('base64') };
    for (const block of hclBlocks) {
      let text = block.replace(/key_file\s*=\s*"[^"]*"/, `key_file = "${keyFile}"`);
      if (!/^listener /m.test(text)) text += '\nlistener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}\n';
      if (!/^storage /m.test(text)) text += '\nstorage "inmem" {}\n';
      expect(() => parseServerConfig(text, 'hcl', env), block).not.toThrow();
    }
  });
});
