/**
 * Zod schemas of the Zoom REST API answers the reconciler reads: the recording lists
 * (GET /accounts/me/recordings and GET /users/{userId}/recordings, same shape), the
 * user list (GET /users) and Zoom's error body. Recording objects are the webhook's
 * shape (ZoomRecordingObjectSchema). Unknown fields are ignored (Zoom adds fields over
 * time), `null` is read as absent where Zoom sends it; a missing or mistyped required
 * field fails the page.
 */
import * as z from 'zod/mini';
import { ZoomRecordingObjectSchema, optional, text } from '../zoom/recording';

/** Zoom's opaque page cursor; "" (or absent) on the last page. */
const NextPageToken = optional(z.string().check(z.maxLength(4096)));

/**
 * One page of a recording list, e.g.
 * {"from":"2026-01-01","to":"2026-01-31","page_size":300,"total_records":2,"next_page_token":"","meetings":[...]}.
 */
export const ZoomRecordingListPageSchema = z.object({
  next_page_token: NextPageToken,
  meetings: z.array(ZoomRecordingObjectSchema),
});
export type ZoomRecordingListPage = z.output<typeof ZoomRecordingListPageSchema>;

export const ZoomUserSchema = z.object({
  id: text(1, 200),
  email: optional(text(0, 320)),
  status: optional(text(0, 50)),
});

/** One page of GET /users?status=... */
export const ZoomUserListPageSchema = z.object({
  next_page_token: NextPageToken,
  users: z.array(ZoomUserSchema),
});
export type ZoomUserListPage = z.output<typeof ZoomUserListPageSchema>;

/** Zoom's error body: {"code":124,"message":"Invalid access token."}. Anything else reads as no detail. */
export const ZoomErrorBodySchema = z.object({
  code: optional(z.number()),
  message: optional(z.string()),
});
