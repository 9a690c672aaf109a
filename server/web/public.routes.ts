import { Router } from 'express';
import type { Context } from '../context.ts';
import { h } from './middleware.ts';

export function publicRouter(ctx: Context): Router {
  const r = Router();
  r.get('/', h(async (req, res) => {
    const demo = ctx.config.seedDemo ? await ctx.users.byEmail('admin@demo.example') : undefined;
    res.render('home', { title: req.t('home.title'), showDemo: !!demo });
  }));
  r.get('/privacy', h(async (req, res) => {
    res.render('privacy', { title: req.t('home.privacy.title') });
  }));
  r.get('/documents/satzung', h(async (req, res) => {
    res.render('bylaws', { title: req.t('home.bylaws.title'), rules: await ctx.settings.rules() });
  }));
  return r;
}
