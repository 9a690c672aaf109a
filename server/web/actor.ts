import type { Request } from 'express';
import type { Actor } from '../audit/audit.service.ts';

/** The signed-in user of a request as the audit log's actor; only for routes behind a sign-in check (req.user is set). */
export function actorOf(req: Request): Actor {
  return { userId: req.user!.id, label: req.user!.displayName };
}
