import { Router } from 'express';
import type { Context } from '../context.ts';
import { requireRole } from '../web/middleware.ts';

/** The board's member register (issue 3 builds it out). */
export function membersRouter(ctx: Context): Router {
  const r = Router();
  r.use(requireRole('board', 'treasurer', 'admin'));
  r.get('/', async (req, res) => {
    const rows = await ctx.db('organisations').orderBy('member_number').limit(100);
    res.render('members/list', { title: req.t('common.nav.members'), section: 'members', rows, total: rows.length });
  });
  return r;
}
