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
    // the periods the daily retention run applies (server/retention), from the same settings
    const rules = await ctx.settings.rules();
    const periods = {
      invoicePeriod: req.t('home.privacy.years', { count: rules.invoiceRetentionYears }),
      unconfirmedPeriod: req.t('home.privacy.days', { count: rules.unconfirmedApplicationDays }),
      applicationPeriod: req.t('home.privacy.months', { count: rules.applicationRetentionMonths }),
      contactPeriod: req.t('home.privacy.years', { count: rules.contactRetentionYears }),
      mailPeriod: req.t('home.privacy.daysDative', { count: rules.mailBodyRetentionDays }),
    };
    const body = req.t('home.privacy.body', { returnObjects: true, ...periods }) as unknown as string[]; // why: returnObjects gives the array the locale file holds
    res.render('privacy', { title: req.t('home.privacy.title'), body });
  }));
  r.get('/documents/satzung', h(async (req, res) => {
    res.render('bylaws', { title: req.t('home.bylaws.title'), rules: await ctx.settings.rules() });
  }));
  return r;
}
