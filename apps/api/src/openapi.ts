import { z } from 'zod';
import {
  appIdSchema,
  clientIdSchema,
  createAppSchema,
  clientSettingsSchema,
  clientTokensSchema,
  deleteTokenSchema,
  emptyResultSchema,
  examplePayloads,
  jobCanceledSchema,
  jobStatusSchema,
  patchAppSchema,
  push2clientsSchema,
  pushAcceptedSchema,
  registerTokenSchema,
  resultsPageSchema,
  resultsQuerySchema,
} from '@push/contract';

// GET /openapi.json: the API's shape as OpenAPI 3.1, generated from the contract's zod schemas (zod 4
// writes JSON Schema 2020-12, which OpenAPI 3.1 uses as is). Callers generate clients from it; the
// schemas stay the one home of every request and answer. What is written here is only what zod cannot
// know: the routes, and which error codes each can answer.

type Codes = Partial<Record<number, readonly string[]>>;
type JsonSchema = Record<string, unknown>;

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  return rest;
};

/** Every answer under `/push/` can be one of these (authentication, rate limit, Redis away, a broken path). */
const anyPushRoute: Codes = {
  400: ['MALFORMED_PATH'],
  401: ['INVALID_API_KEY'],
  405: ['METHOD_NOT_ALLOWED'],
  429: ['RATE_LIMITED'],
  500: ['INTERNAL_ERROR'],
  503: ['SERVICE_UNAVAILABLE'],
};
/** And these for a route that reads a JSON body. */
const anyBody: Codes = {
  400: ['MALFORMED_JSON', 'MALFORMED_BODY', 'INVALID_UTF8', 'INVALID_BODY', 'REQUEST_ABORTED', 'BAD_REQUEST'],
  413: ['BODY_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_CHARSET', 'UNSUPPORTED_ENCODING'],
};
/** Answers of no route in particular: an unknown path, and requests Node refuses before Express sees them. */
const anyRequest: Codes = { 400: ['BAD_REQUEST'], 404: ['NOT_FOUND'], 431: ['HEADERS_TOO_LARGE'] };

const pushCodes: Codes = {
  400: ['MISSING_PARAMETER', 'INVALID_PARAMETER', 'TOO_MANY_CLIENTS', 'PAYLOAD_TOO_LARGE', 'INVALID_IDEMPOTENCY_KEY'],
};
const tokenCodes: Codes = { 400: ['INVALID_PARAMETER'] };
const jobCodes: Codes = { 400: ['INVALID_PARAMETER', 'INVALID_CURSOR'], 404: ['JOB_NOT_FOUND'] };

function merge(...sets: Codes[]): Codes {
  const out: Record<number, string[]> = {};
  for (const set of sets)
    for (const [status, codes] of Object.entries(set)) out[Number(status)] = [...(out[Number(status)] ?? []), ...codes!];
  return Object.fromEntries(Object.entries(out).map(([status, codes]) => [status, [...new Set(codes)]]));
}

/** The success envelope around `result`. */
const success = (result: z.ZodType) => z.object({ RC: z.literal(0), RM: z.literal('OK'), result });
/** The error envelope of one status, with the codes it can carry. */
const failure = (status: number, codes: readonly string[]) =>
  z.object({
    RC: z.literal(status),
    RM: z.string().meta({ description: 'the HTTP reason phrase' }),
    error: z.object({ code: z.enum(codes as [string, ...string[]]), message: z.string() }),
  });

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema: jsonSchema(schema) } } });

function errorResponses(codes: Codes): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, list]) => [status, { description: list!.join(', '), ...json(failure(Number(status), list!)) }]),
  );
}

function responses(result: z.ZodType, codes: Codes): Record<string, unknown> {
  return { 200: { description: 'OK', ...json(success(result)) }, ...errorResponses(codes) };
}

const body = (schema: z.ZodType, example?: unknown) => ({
  required: true,
  content: { 'application/json': { schema: jsonSchema(schema, 'input'), ...(example !== undefined && { example }) } },
});
const pathParameter = (name: string, schema: z.ZodType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: jsonSchema(schema, 'input'),
});
const pushSecurity = [{ apiKey: [] }];

/** The OpenAPI 3.1 document of the API; `maxClients` is this deployment's PUSH_MAX_CLIENTS. */
export function openApiDocument(maxClients: number): Record<string, unknown> {
  const jobId = pathParameter('jobId', z.string(), 'the job id `POST /push/push2clients` answered');
  const paths = pathsOf(maxClients, jobId);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Push dispatch service',
      version: '1.0.0',
      description:
        'Every answer is JSON in one envelope: `{"RC":0,"RM":"OK","result":{...}}`, or `{"RC":<status>,"RM":"<reason phrase>",' +
        '"error":{"code","message"}}`. Everything under `/push/` needs the `IM-API-KEY` header. The prose is docs/api.md.',
    },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'IM-API-KEY' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, else an IM_API_KEY' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN (the admin API answers 404 while it is unset)' },
      },
      schemas: {
        ErrorCode: { type: 'string', enum: errorCodes(paths), description: 'every `error.code` the API answers with' },
      },
    },
    paths,
  };
}

/** The routes, with what each takes and answers. */
function pathsOf(maxClients: number, jobId: ReturnType<typeof pathParameter>): Record<string, unknown> {
  return {
    '/push/push2clients': {
      post: {
        summary: 'Send one payload to every device of the clients',
        security: pushSecurity,
        parameters: [
          {
            name: 'Idempotency-Key',
            in: 'header',
            required: false,
            description: 'the same key within 24 hours returns the first request’s jobId and queues nothing new',
            schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
          },
        ],
        requestBody: body(push2clientsSchema(maxClients), { clients: ['user001', 'user002'], payload: examplePayloads.maintenance }),
        responses: responses(pushAcceptedSchema, merge(anyPushRoute, anyBody, pushCodes)),
      },
    },
    '/push/tokens': {
      post: {
        summary: 'Register a device token for a client (moves it from any other client)',
        security: pushSecurity,
        requestBody: body(registerTokenSchema),
        responses: responses(emptyResultSchema, merge(anyPushRoute, anyBody, tokenCodes)),
      },
      delete: {
        summary: 'Remove a device token wherever it is registered',
        security: pushSecurity,
        requestBody: body(deleteTokenSchema),
        responses: responses(emptyResultSchema, merge(anyPushRoute, anyBody, tokenCodes)),
      },
    },
    '/push/clients/{client}/tokens': {
      get: {
        summary: "A client's devices",
        security: pushSecurity,
        parameters: [pathParameter('client', clientIdSchema, 'the client id')],
        responses: responses(clientTokensSchema, merge(anyPushRoute, tokenCodes)),
      },
    },
    '/push/clients/{client}': {
      put: {
        summary: "A client's settings (its time zone, for `localTime` jobs)",
        security: pushSecurity,
        parameters: [pathParameter('client', clientIdSchema, 'the client id')],
        requestBody: body(clientSettingsSchema),
        responses: responses(emptyResultSchema, merge(anyPushRoute, anyBody, tokenCodes)),
      },
    },
    '/push/jobs/{jobId}': {
      get: {
        summary: "A job's state and totals",
        security: pushSecurity,
        parameters: [jobId],
        responses: responses(jobStatusSchema, merge(anyPushRoute, { 404: ['JOB_NOT_FOUND'] })),
      },
      delete: {
        summary: 'Cancel a scheduled or running job: nothing more of it is sent',
        security: pushSecurity,
        parameters: [jobId],
        responses: responses(jobCanceledSchema, merge(anyPushRoute, { 404: ['JOB_NOT_FOUND'], 409: ['JOB_FINISHED'] })),
      },
    },
    '/push/jobs/{jobId}/results': {
      get: {
        summary: "A page of a job's per-token results",
        security: pushSecurity,
        parameters: [
          jobId,
          ...Object.entries(resultsQuerySchema.shape).map(([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            schema: jsonSchema(schema, 'input'),
          })),
        ],
        responses: responses(resultsPageSchema, merge(anyPushRoute, jobCodes)),
      },
    },
    ...adminPaths(),
    '/healthz': { get: { summary: 'Whether the process runs', responses: responses(z.object({ status: z.literal('ok') }), {}) } },
    '/readyz': {
      get: {
        summary: 'Whether Redis answers',
        responses: responses(z.object({ redis: z.literal('ready') }), { 503: ['REDIS_UNAVAILABLE'] }),
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        security: [{ metricsToken: [] }],
        responses: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...errorResponses({ 401: ['INVALID_METRICS_TOKEN'], 405: ['METHOD_NOT_ALLOWED'] }),
        },
      },
    },
    '/openapi.json': {
      get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } },
    },
  };
}

/** The part of an answer's JSON Schema that lists its error codes. */
type Answer = {
  content?: { 'application/json'?: { schema?: { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } } } };
};

/** Every error code the routes answer with, and those of no route in particular (anyRequest). */
function errorCodes(paths: Record<string, unknown>): string[] {
  const codes = new Set<string>(Object.values(anyRequest).flatMap((list) => list ?? []));
  for (const item of Object.values(paths) as Record<string, { responses: Record<string, Answer> }>[])
    for (const operation of Object.values(item))
      for (const answer of Object.values(operation.responses))
        for (const code of answer.content?.['application/json']?.schema?.properties?.error?.properties?.code?.enum ?? []) codes.add(code);
  return [...codes];
}

/**
 * The apps admin API (`/admin/apps`, contract Part 2): its request bodies are the contract's schemas; an app
 * as answered (ids, names, key ids, fingerprints, limits: never a secret) is an object here.
 */
function adminPaths(): Record<string, unknown> {
  const security = [{ adminToken: [] }];
  const anyAdmin: Codes = {
    401: ['INVALID_ADMIN_TOKEN'],
    404: ['APP_NOT_FOUND'],
    405: ['METHOD_NOT_ALLOWED'],
    500: ['INTERNAL_ERROR'],
    503: ['SERVICE_UNAVAILABLE'],
  };
  const writes: Codes = { 400: ['INVALID_PARAMETER', 'SECRETS_KEY_MISSING'] };
  const app = z.looseObject({}).meta({ description: 'an app: ids, names, key ids, fingerprints, limits; never a secret' });
  const id = pathParameter('id', appIdSchema, 'the app id');
  const created = z.object({ app, apiKey: z.string().meta({ description: 'shown this once' }) });
  return {
    '/admin/apps': {
      post: {
        summary: 'Create an app (its first API key is in the answer, once)',
        security,
        requestBody: body(createAppSchema),
        responses: responses(created, merge(anyAdmin, anyBody, writes, { 409: ['APP_EXISTS'] })),
      },
      get: { summary: 'Every app', security, responses: responses(z.object({ apps: z.array(app) }), anyAdmin) },
    },
    '/admin/apps/{id}': {
      get: { summary: 'One app', security, parameters: [id], responses: responses(z.object({ app }), anyAdmin) },
      patch: {
        summary: "Change an app's name, credentials or limits (a section given replaces the old one; null removes it)",
        security,
        parameters: [id],
        requestBody: body(patchAppSchema),
        responses: responses(z.object({ app }), merge(anyAdmin, anyBody, writes)),
      },
      delete: {
        summary: 'Delete an app: its keys stop working at once, its data is deleted',
        security,
        parameters: [id],
        responses: responses(emptyResultSchema, anyAdmin),
      },
    },
    '/admin/apps/{id}/keys': {
      post: {
        summary: 'A new API key for the app (shown once)',
        security,
        parameters: [id],
        responses: responses(z.object({ keyId: z.string(), apiKey: z.string() }), anyAdmin),
      },
    },
    '/admin/apps/{id}/keys/{keyId}': {
      delete: {
        summary: 'Revoke an API key at once',
        security,
        parameters: [id, pathParameter('keyId', z.string(), 'the key id')],
        responses: responses(emptyResultSchema, merge(anyAdmin, { 404: ['KEY_NOT_FOUND'] })),
      },
    },
  };
}
