import { z } from 'zod';
import { envSchema, roleEnvSchemas } from './env';

type Role = keyof typeof roleEnvSchemas;
const roleNames: Record<Role, string> = {
  api: 'API',
  'apns-worker': 'APNs worker',
  'fcm-worker': 'FCM worker',
  'webpush-worker': 'Web Push worker',
};

/** Who reads a variable, as the table says it. */
function readBy(name: string): string {
  const roles = (Object.keys(roleEnvSchemas) as Role[]).filter((role) => name in roleEnvSchemas[role].shape);
  if (roles.length === Object.keys(roleEnvSchemas).length) return 'all';
  if (roles.length === Object.keys(roleEnvSchemas).length - 1 && !roles.includes('api')) return 'workers';
  return roles.map((role) => roleNames[role]).join(', ');
}

function defaultOf(schema: z.ZodType, unset: unknown): string {
  // A default parsed further (WEBPUSH_ALLOWED_ENDPOINTS: a list of host patterns) sits at the pipe's input.
  const given = schema instanceof z.ZodPipe ? schema.def.in : schema;
  if (given instanceof z.ZodDefault) return `\`${String(given.def.defaultValue)}\``;
  return typeof unset === 'string' ? unset : '';
}

/**
 * docs/configuration.md, generated from the environment schemas (packages/config/src/env.ts): the one
 * place each variable, its meaning and its default are written. `npm run docs` writes it; a test fails
 * when the file and the schemas differ.
 */
export function configurationDoc(): string {
  const rows = Object.entries(envSchema.shape).map(([name, schema]) => {
    const meta = z.globalRegistry.get(schema as z.ZodType) ?? {};
    return `| \`${name}\` | ${readBy(name)} | ${meta.description ?? ''} | ${defaultOf(schema as z.ZodType, meta.unset)} |`;
  });
  return [
    '# Configuration',
    '',
    '<!-- Generated from packages/config/src/env.ts by `npm run docs`: edit the schema, not this file. -->',
    '',
    'Each process reads the variables of its role once at start-up (`read by`: the API, the APNs or FCM',
    'worker, both workers, or all) and refuses to start, naming the variable, when one is invalid. `npm start`',
    "checks every role's variables before it starts anything.",
    '',
    '| name | read by | meaning | default |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'A variable set to the empty string counts as unset. A worker logs, in its `worker ready` line, where it',
    'sends: `apnsEnvironment` (`sandbox` or `production`), `apnsHost`, `apnsTopic`, `apnsKeyId`, or `fcmProject`',
    'and `fcmEndpoint`.',
    '',
    "TLS trust for a private APNs/FCM endpoint comes from Node's own `NODE_EXTRA_CA_CERTS`.",
    '',
  ].join('\n');
}
