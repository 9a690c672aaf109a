import { expect } from 'chai';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { DEFAULT_ASSOCIATION, DEFAULT_RULES } from '../../server/settings/settings.schemas.ts';
import { feeFor } from '../../server/settings/settings.service.ts';
import { AppError } from '../../server/errors.ts';

describe('settings: SettingsService', () => {
  let env: TestEnv;
  const actor = { userId: null, label: 'test' };
  before(async () => {
    env = await createTestEnv();
  });
  after(async () => env.close());

  it('saves association and rules together and audits only the parts and fields that changed', async () => {
    const r1 = await env.ctx.settings.updateSettings(actor, { association: { ...DEFAULT_ASSOCIATION, city: 'Goslar' }, rules: DEFAULT_RULES });
    expect(r1.changed).to.equal(true);
    expect((await env.ctx.settings.association()).city).to.equal('Goslar');
    const entries = await env.ctx.audit.list({ entityType: 'settings' });
    expect(entries.map((e) => e.action)).to.deep.equal(['settings.association_updated']);
    expect(entries[0].before).to.deep.equal({ city: '' });
    expect(entries[0].after).to.deep.equal({ city: 'Goslar' });

    const r2 = await env.ctx.settings.updateSettings(actor, { association: await env.ctx.settings.association(), rules: DEFAULT_RULES });
    expect(r2.changed).to.equal(false);
    expect(await env.ctx.audit.list({ entityType: 'settings' })).to.have.length(1);

    await env.ctx.settings.updateSettings(actor, { association: await env.ctx.settings.association(), rules: { ...DEFAULT_RULES, duesDueDays: 14 } });
    const [last] = await env.ctx.audit.list({ entityType: 'settings' });
    expect(last.action).to.equal('settings.rules_updated');
    expect(last.after).to.deep.equal({ duesDueDays: 14 });
    expect((await env.ctx.settings.rules()).duesDueDays).to.equal(14);
  });

  it('refuses a second category with the same code and keeps fee rules in cents', async () => {
    const input = { code: 'company', nameDe: 'Unternehmen', nameEn: 'Company', hasVote: true, feeRule: { type: 'tiers' as const, tiers: { '1-49': 50000, '50-249': 120000, '250+': 250000 } }, sortOrder: 1, active: true, openToApplicants: true };
    const id = await env.ctx.settings.saveCategory(actor, input);
    let err: unknown;
    try {
      await env.ctx.settings.saveCategory(actor, { ...input, nameDe: 'Zweite' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).code).to.equal('category_code_taken');
    // saving the same category under its own code is fine
    await env.ctx.settings.saveCategory(actor, { ...input, id, nameEn: 'Companies' });
    const c = (await env.ctx.settings.category(id))!;
    expect(c.nameEn).to.equal('Companies');
    expect(feeFor(c.feeRule, '50-249')).to.equal(120000);
    expect(feeFor(c.feeRule, '250+')).to.equal(250000);
  });
});
