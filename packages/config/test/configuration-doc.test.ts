import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { configurationDoc, envSchema } from '@push/config';

// The schemas are the one home of every variable, its meaning and its default; docs/configuration.md is
// generated from them and must not drift.

test('docs/configuration.md is what the schemas generate (else run `npm run docs`)', () => {
  const file = readFileSync(join(__dirname, '../../../docs/configuration.md'), 'utf8');
  expect(file).toBe(configurationDoc());
});

test('every variable has a meaning in its schema', () => {
  for (const [name, schema] of Object.entries(envSchema.shape)) {
    expect([name, Boolean(z.globalRegistry.get(schema)?.description)]).toEqual([name, true]);
  }
});
