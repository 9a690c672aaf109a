import { Router } from 'express';
import type { Context } from '../context.ts';
import { requireRole } from '../web/middleware.ts';

/** Administration: settings, categories, users and roles, mail log, audit log. */
export function adminRouter(_ctx: Context): Router {
  const r = Router();
  r.use(requireRole('admin'));
  r.get('/', (req, res) => {
    res.render('admin/index', { title: req.t('common.nav.admin'), section: 'admin' });
  });
  return r;
}
