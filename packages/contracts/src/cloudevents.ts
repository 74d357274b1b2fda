/**
 * CloudEvents 1.0 structured envelope. Dapr wraps published data in the same shape; the embedded
 * transport builds it itself so handlers see one contract on every transport.
 */
import { z } from 'zod';

export const cloudEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().optional(),
  time: z.string().optional(),
  datacontenttype: z.string().optional(),
  data: z.unknown(),
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
  topic: z.string().optional(),
  pubsubname: z.string().optional(),
});

export type CloudEvent<T = unknown> = Omit<z.infer<typeof cloudEventSchema>, 'data'> & { data: T };
