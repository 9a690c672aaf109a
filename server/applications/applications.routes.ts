import { Router } from 'express';
import type { Context } from '../context.ts';
import { requireRole } from '../web/middleware.ts';

export function applicationsPublicRouter(_ctx: Context): Router {
  const r = Router();
  return r;
}

export function applicationsBoardRouter(_ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board'));
  return r;
}
