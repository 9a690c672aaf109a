import { DAY_MS } from '../clock.ts';
/** How long a portal invitation (set-password link) is valid. */
export const INVITATION_TTL_MS = 14 * DAY_MS;
