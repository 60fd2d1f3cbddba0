import { z } from 'zod';
import { platformSchema, prioritySchema, tokenStatuses, tokenStatusSchema, type TokenStatus } from './schemas';

// What the routes answer inside the envelope's `result`: the one home of these shapes. The store's types
// are inferred from them, and the OpenAPI document (GET /openapi.json) is generated from them.

/** `POST /push/push2clients`. */
export const pushAcceptedSchema = z.object({ jobId: z.string().meta({ description: 'the job id (a UUID)' }) });

/** `POST /push/tokens`, `DELETE /push/tokens`: nothing to say but OK. */
export const emptyResultSchema = z.object({});

/** One device of a client (`GET /push/clients/:client/tokens`). */
export const registeredTokenSchema = z.object({
  token: z.string(),
  platform: platformSchema,
  createdAt: z.string().meta({ description: 'when it was registered (ISO 8601)' }),
  timezone: z.string().optional().meta({ description: "the client's IANA time zone, when one was registered" }),
});
export type RegisteredToken = z.infer<typeof registeredTokenSchema>;
export const clientTokensSchema = z.object({ tokens: z.array(registeredTokenSchema) });

/** The counts of a job, in `totals` and per platform. */
export const countsSchema = z.object({
  clients: z.number().int(),
  tokens: z.number().int(),
  ...(Object.fromEntries(tokenStatuses.map((status) => [status, z.number().int()])) as Record<TokenStatus, z.ZodNumber>),
});
export type Counts = z.infer<typeof countsSchema>;

export const jobStates = ['scheduled', 'queued', 'processing', 'completed', 'canceled'] as const;
export type JobState = (typeof jobStates)[number];

/** `GET /push/jobs/:jobId`. */
export const jobStatusSchema = z.object({
  jobId: z.string(),
  state: z.enum(jobStates).meta({ description: '`completed`: every token of every platform has its final result' }),
  priority: prioritySchema.optional().meta({ description: 'the lane its chunks were queued on' }),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  sendAt: z.string().optional().meta({ description: 'campaign: nothing is sent before (ISO 8601)' }),
  localTime: z.string().optional().meta({ description: "campaign: `HH:MM` in each client's time zone" }),
  ratePerMinute: z.number().int().optional().meta({ description: 'campaign: at most this many notifications a minute' }),
  canceledAt: z.string().optional(),
  totals: countsSchema,
  platforms: z.record(platformSchema, countsSchema.extend({ chunks: z.number().int(), chunksDone: z.number().int() })),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** One token's final result. */
export const resultItemSchema = z.object({
  client: z.string(),
  platform: platformSchema,
  token: z.string(),
  status: tokenStatusSchema,
  reason: z.string().meta({ description: "the provider's own reason for anything but `sent`" }),
  at: z.string().meta({ description: 'when the result was recorded (ISO 8601)' }),
});
export type ResultItem = z.infer<typeof resultItemSchema>;

/** `GET /push/jobs/:jobId/results`: one page; `nextCursor` asks for the next. */
export const resultsPageSchema = z.object({ items: z.array(resultItemSchema), nextCursor: z.string().nullable() });

/** `DELETE /push/jobs/:jobId`: the job is canceled (nothing more of it is sent). */
export const jobCanceledSchema = z.object({ jobId: z.string(), state: z.literal('canceled'), canceledAt: z.string() });
export type JobCanceled = z.infer<typeof jobCanceledSchema>;
