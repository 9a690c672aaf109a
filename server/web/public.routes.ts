import { Router } from 'express';
import type { Context } from '../context.ts';
import { h } from './middleware.ts';
import { DATA_PROTECTION_AUTHORITIES } from '../settings/settings.schemas.ts';

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
    const [privacy, association] = await Promise.all([ctx.settings.privacy(), ctx.settings.association()]);
    const authority = DATA_PROTECTION_AUTHORITIES[privacy.authority];
    const split = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);
    res.render('privacy', {
      title: req.t('home.privacy.title'), association, authority,
      representedBy: privacy.representedBy || association.boardMembers,
      dataProtectionContact: privacy.dataProtectionContact || req.t('home.privacy.noOfficer', { email: association.contactEmail }),
      purposes: split(privacy.purposes).map((line) => {
        const i = line.lastIndexOf(' – ');
        return i > 0 ? { purpose: line.slice(0, i), basis: line.slice(i + 3) } : { purpose: line, basis: '' };
      }),
      recipients: split(privacy.recipients),
      retention: req.t('home.privacy.retention', periods),
      rights: privacy.rights,
    });
  }));
  r.get('/documents/satzung', h(async (req, res) => {
    res.render('bylaws', { title: req.t('home.bylaws.title'), rules: await ctx.settings.rules() });
  }));
  return r;
}
