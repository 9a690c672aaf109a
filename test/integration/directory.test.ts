import { expect } from 'chai';
import sharp from 'sharp';
import { createTestEnv, type TestEnv } from '../helpers/context.ts';
import { Browser } from '../helpers/http.ts';
import { SmtpSink, type SinkMessage } from '../fakes/smtp-sink.ts';
import { pngBomb } from '../helpers/png-bomb.ts';
import { ACTOR, loginAs, makeWorld, visible, type World } from './portal.fixtures.ts';

/**
 * The network's public directory (issue 16 items 2–4): a member's contact edits and submits the
 * profile, the board approves it, the public finds it on /netzwerk (and in the JSON and CSV), a
 * visitor's enquiry reaches the cooperation contact by mail; withdrawn, unapproved and former
 * members' profiles are never shown or exported.
 */
describe('network directory (/netzwerk)', function () {
  this.timeout(60_000);
  let env: TestEnv;
  let sink: SmtpSink;
  let w: World;
  let anna: Browser; // contact of A (Harzer Spezialchemie GmbH)
  let carla: Browser; // contact of B (Okertal Polymere AG)
  let board: Browser;
  let logo: Buffer;

  const delivered = async (to: string): Promise<SinkMessage[]> => {
    await env.ctx.outbox.flush();
    return sink.messages.filter((m) => m.envelopeTo.includes(to));
  };
  const binary = (b: Browser, url: string) => b.agent.get(url).buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  const PROFILE = {
    descriptionDe: 'Spezialchemikalien aus dem Harz: Katalysatoren und Pigmente für die Industrie.',
    descriptionEn: 'Speciality chemicals from the Harz: catalysts and pigments for industry.',
    town: 'Goslar', website: 'www.harzer-spezialchemie.example',
  };
  /** Posts the profile form as the browser would (multipart, fields as checkboxes, an optional logo). */
  async function saveProfile(b: Browser, data: Record<string, string | string[]>, action: 'save' | 'submit', file?: { content: Buffer; name: string }) {
    const page = await b.get('/portal/directory');
    const token = Browser.csrfFrom(page.text);
    const version = page.text.match(/name="version" value="(\d+)"/)![1];
    let req = b.agent.post('/portal/directory').field('_csrf', token).field('version', version).field('action', action);
    for (const [k, v] of Object.entries(data)) for (const x of Array.isArray(v) ? v : [v]) req = req.field(k, x);
    if (file) req = req.attach('logo', file.content, file.name);
    return req;
  }
  const annaContactId = () => String(w.c.anna);
  const publicText = async (url: string) => visible((await new Browser(env.app).get(url)).text);
  const json = async () => (await new Browser(env.app).get('/netzwerk.json')).body as { count: number; members: { slug: string; name: string; fields: string[] }[] };
  const csv = async () => (await new Browser(env.app).get('/netzwerk.csv')).text;

  before(async () => {
    sink = await SmtpSink.start();
    env = await createTestEnv({ smtpUrl: sink.url });
    env.clock.set('2026-12-02T10:00:00Z');
    w = await makeWorld(env);
    anna = await loginAs(env, 'anna@harzer.example');
    carla = await loginAs(env, 'carla@okertal.example');
    board = await loginAs(env, 'board@test.example');
    logo = await sharp({ create: { width: 900, height: 300, channels: 3, background: '#1f6f43' } }).jpeg().toBuffer();
  });
  after(async () => {
    await env.close();
    await sink.stop();
  });

  describe('the profile form', () => {
    it('refuses markup, overlong texts, a bad website and a missing field, next to each field, keeping what was typed; nothing stored', async () => {
      const res = await saveProfile(anna, {
        descriptionDe: 'Wir sind <script>alert(1)</script> toll', descriptionEn: 'x'.repeat(801), town: 'Goslar', website: 'javascript:alert(1)', contactId: annaContactId(),
      }, 'submit');
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="e-descriptionDe" class="field-error">Bitte reinen Text ohne HTML/);
      expect(res.text).to.match(/id="e-website" class="field-error">Bitte eine Web-Adresse/);
      expect(res.text).to.contain('Wir sind &lt;script&gt;alert(1)&lt;/script&gt; toll</textarea>');
      expect(res.text).not.to.contain('<script>alert(1)</script>');
      expect(await env.db('directory_profiles').select('id')).to.have.length(0);

      const long = await saveProfile(anna, { ...PROFILE, descriptionEn: 'y'.repeat(801), contactId: annaContactId() }, 'submit');
      expect(long.status).to.equal(422);
      expect(long.text).to.match(/id="e-descriptionEn" class="field-error">Höchstens 800 Zeichen/);
      const noField = await saveProfile(anna, { ...PROFILE, contactId: annaContactId() }, 'submit');
      expect(noField.status).to.equal(422);
      expect(noField.text).to.match(/id="e-fields" class="field-error">Bitte mindestens ein Tätigkeitsfeld wählen/);
      expect(noField.text).to.contain('value="www.harzer-spezialchemie.example"');
      const otherContact = await saveProfile(anna, { ...PROFILE, fields: ['chemie'], contactId: String(w.c.carla) }, 'submit');
      expect(otherContact.status).to.equal(422);
      expect(otherContact.text).to.match(/id="e-contactId" class="field-error">Bitte eine Ansprechperson Ihrer Organisation wählen/);
      expect(await env.db('directory_profiles').select('id')).to.have.length(0);
    });

    it('refuses a file that is not an image, an image over 2 MB, a decompression bomb and an SVG with outside references', async () => {
      const cases: [Buffer, string, RegExp][] = [
        [Buffer.from('%PDF-1.4 not an image'), 'logo.png', /Die Datei ist kein PNG-, JPEG- oder SVG-Bild/],
        [Buffer.concat([logo, Buffer.alloc(2 * 1024 * 1024)]), 'big.jpg', /Das Logo ist größer als 2 MB/],
        [pngBomb(), 'bomb.png', /Das Bild ist zu groß \(mehr als 40 Megapixel\)/],
        [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///etc/passwd"/></svg>'), 'x.svg', /Das SVG verweist auf Dateien/],
        [Buffer.from('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'), 'e.svg', /Das SVG verweist auf Dateien/],
      ];
      for (const [content, name, message] of cases) {
        const res = await saveProfile(anna, { ...PROFILE, fields: ['chemie'], contactId: annaContactId() }, 'save', { content, name });
        expect(res.status, name).to.equal(422);
        expect(res.text, name).to.match(new RegExp(`id="e-logo" class="field-error">${message.source}`));
        expect(res.text, name).to.contain('Spezialchemikalien aus dem Harz');
      }
      expect(await env.db('directory_profiles').select('id')).to.have.length(0);
      expect(await env.db('directory_logos').select('id')).to.have.length(0);
    });
  });

  describe('publishing and withdrawing', () => {
    let slug = '';

    it('a submitted profile waits for the board: not on the page, not in the JSON or CSV; the board is told', async () => {
      const res = await saveProfile(anna, { ...PROFILE, fields: ['chemie', 'forschung'], contactId: annaContactId() }, 'submit', { content: logo, name: 'logo.jpg' });
      expect(res.status).to.equal(303);
      const portal = visible((await anna.get('/portal/directory')).text);
      expect(portal).to.contain('Zur Freigabe beim Vorstand');
      expect(portal).to.contain('nicht veröffentlicht');
      slug = (await env.db('directory_profiles').first('slug'))!.slug;
      expect(slug).to.equal('harzer-spezialchemie-gmbh');
      expect(await publicText('/netzwerk')).not.to.contain('Harzer Spezialchemie');
      expect((await new Browser(env.app).get(`/netzwerk/${slug}`)).status).to.equal(404);
      expect((await json()).count).to.equal(0);
      expect(await csv()).not.to.contain('Harzer');
      const [mail] = await delivered('board@test.example');
      expect(mail.subject).to.equal('Netzwerkprofil zur Freigabe: Harzer Spezialchemie GmbH');
    });

    it('the board returns it with a note, the contact resubmits, the board approves: listed, filterable, searchable, exported', async () => {
      const page = await board.get('/board/directory');
      expect(visible(page.text)).to.contain('Spezialchemikalien aus dem Harz');
      const id = Number(page.text.match(/action="\/board\/directory\/(\d+)\/approve"/)![1]);
      let version = page.text.match(/name="version" value="(\d+)"/)![1];
      const empty = await board.submit('/board/directory', { version, note: ' ' }, `/board/directory/${id}/reject`);
      expect(empty.status).to.equal(422);
      expect(empty.text).to.contain('Bitte sagen Sie, was geändert werden soll.');
      expect((await board.submit('/board/directory', { version, note: 'Bitte auch Recycling als Feld angeben.' }, `/board/directory/${id}/reject`)).status).to.equal(303);
      const portal = visible((await anna.get('/portal/directory')).text);
      expect(portal).to.contain('Vom Vorstand zurückgegeben');
      expect(portal).to.contain('Bitte auch Recycling als Feld angeben.');

      expect((await saveProfile(anna, { ...PROFILE, fields: ['chemie', 'forschung', 'recycling'], contactId: annaContactId() }, 'submit')).status).to.equal(303);
      version = (await board.get('/board/directory')).text.match(/name="version" value="(\d+)"/)![1];
      // a stale version (the contact changed it meanwhile) is refused
      expect((await board.submit('/board/directory', { version: '1' }, `/board/directory/${id}/approve`)).status).to.equal(303);
      expect((await env.db('directory_profiles').first('published'))!.published).to.equal(null);
      expect((await board.submit('/board/directory', { version }, `/board/directory/${id}/approve`)).status).to.equal(303);

      const list = await new Browser(env.app).get('/netzwerk');
      expect(list.status).to.equal(200);
      expect(list.text).to.contain('<title>Die Mitglieder von ChemieNetzwerk Harz e.V. · ChemieNetzwerk Harz e.V.</title>');
      expect(list.text).to.match(/<meta name="description" content="1 Unternehmen und Forschungseinrichtungen/);
      expect(list.text).to.contain('<meta property="og:title"');
      expect(visible(list.text)).to.contain('Harzer Spezialchemie GmbH');
      expect(visible(list.text)).to.contain('Goslar (1)'); // the map's label
      expect(await publicText('/netzwerk?feld=recycling')).to.contain('Harzer Spezialchemie GmbH');
      expect(await publicText('/netzwerk?feld=energie')).to.contain('Kein Mitglied passt zu dieser Auswahl.');
      expect(await publicText('/netzwerk?q=katalysatoren')).to.contain('Harzer Spezialchemie GmbH');
      expect(await publicText('/netzwerk?ort=Seesen')).not.to.contain('Harzer Spezialchemie GmbH');
      expect(await publicText('/netzwerk?lang=en')).to.contain('Speciality chemicals from the Harz');

      const profile = await new Browser(env.app).get(`/netzwerk/${slug}`);
      expect(profile.status).to.equal(200);
      expect(profile.text).to.contain('<meta property="og:title" content="Harzer Spezialchemie GmbH · ChemieNetzwerk Harz e.V.">');
      expect(profile.text).to.contain('href="https://www.harzer-spezialchemie.example"');
      expect(profile.text).not.to.contain('anna@harzer.example'); // no address disclosed
      const img = await binary(new Browser(env.app), `/netzwerk/${slug}/logo.png`);
      expect(img.status).to.equal(200);
      expect(img.headers['content-type']).to.equal('image/png');
      const meta = await sharp(img.body as Buffer).metadata(); // why: parsed by binary() into a Buffer
      expect([meta.format, meta.width, meta.height]).to.deep.equal(['png', 400, 133]); // re-encoded, never the upload

      const data = await json();
      expect(data.count).to.equal(1);
      expect(data.members[0]).to.include({ slug, name: 'Harzer Spezialchemie GmbH' });
      expect(data.members[0].fields).to.deep.equal(['chemie', 'forschung', 'recycling']);
      const c = await csv();
      expect(c.startsWith('\uFEFFName;Ort;Tätigkeitsfelder')).to.equal(true);
      expect(c).to.contain('Harzer Spezialchemie GmbH;Goslar;Chemie und Grundstoffe, Forschung und Lehre, Recycling und Rohstoffe');
      // the register's member page shows it
      expect(visible((await board.get(`/board/members/${w.orgA}`)).text)).to.contain('veröffentlicht Profil ansehen');
    });

    it('a change after publishing stays private until approved; withdrawing takes it off the page, the JSON, the CSV and the logo at once', async () => {
      expect((await saveProfile(anna, { ...PROFILE, descriptionDe: 'Neuer Text, noch nicht freigegeben.', fields: ['chemie'], contactId: annaContactId() }, 'save')).status).to.equal(303);
      expect(await publicText(`/netzwerk/${slug}`)).to.contain('Spezialchemikalien aus dem Harz');
      expect(await publicText(`/netzwerk/${slug}`)).not.to.contain('Neuer Text');
      expect(visible((await anna.get('/portal/directory')).text)).to.contain('Ihre letzten Änderungen sind noch nicht freigegeben');

      const page = await anna.get('/portal/directory');
      expect((await anna.agent.post('/portal/directory/withdraw').type('form').send({ _csrf: Browser.csrfFrom(page.text) })).status).to.equal(303);
      expect((await new Browser(env.app).get(`/netzwerk/${slug}`)).status).to.equal(404);
      expect(await publicText('/netzwerk')).not.to.contain('Harzer Spezialchemie');
      expect((await json()).count).to.equal(0);
      expect(await csv()).not.to.contain('Harzer');
      expect((await new Browser(env.app).get(`/netzwerk/${slug}/logo.png`)).status).to.equal(404);
      const actions = (await env.db('audit_log').where({ entity_type: 'directory_profile' }).select('action')).map((r) => r.action);
      expect(actions).to.include.members(['directory.submitted', 'directory.rejected', 'directory.approved', 'directory.saved', 'directory.withdrawn']);
    });

    it('a member that has left is never shown, whatever its profile says', async () => {
      expect((await saveProfile(carla, { descriptionDe: 'Polymere aus dem Okertal.', town: 'Oker', fields: ['chemie'], contactId: String(w.c.carla) }, 'submit')).status).to.equal(303);
      const page = await board.get('/board/directory');
      const id = Number(page.text.match(/action="\/board\/directory\/(\d+)\/approve"/)![1]);
      await board.submit('/board/directory', { version: page.text.match(/name="version" value="(\d+)"/)![1] }, `/board/directory/${id}/approve`);
      expect(await publicText('/netzwerk')).to.contain('Okertal Polymere AG');
      const org = (await env.ctx.members.get(w.orgB))!;
      await env.ctx.members.dissolve(ACTOR, w.orgB, { effectiveDate: '2026-11-30', note: 'test', version: org.version });
      expect(await publicText('/netzwerk')).not.to.contain('Okertal Polymere AG');
      expect((await new Browser(env.app).get('/netzwerk/okertal-polymere-ag')).status).to.equal(404);
      expect((await json()).count).to.equal(0);
      expect(await csv()).not.to.contain('Okertal');
    });
  });

  describe('enquiries', () => {
    const slug = 'harzer-spezialchemie-gmbh';
    const MESSAGE = 'Wir suchen einen Partner für ein Forschungsprojekt zu Katalysatoren.';
    before(async () => {
      expect((await saveProfile(anna, { ...PROFILE, fields: ['chemie'], contactId: String(w.c.bernd) }, 'submit')).status).to.equal(303);
      const page = await board.get('/board/directory');
      const id = Number(page.text.match(/action="\/board\/directory\/(\d+)\/approve"/)![1]);
      await board.submit('/board/directory', { version: page.text.match(/name="version" value="(\d+)"/)![1] }, `/board/directory/${id}/approve`);
    });

    it('refuses bad input next to the field; sends a good one to the cooperation contact in their language, with the sender\'s address to reply to', async () => {
      const visitor = new Browser(env.app);
      const bad = await visitor.submit(`/netzwerk/${slug}`, { name: '', email: 'kein-at', organisation: '', message: MESSAGE, homepage: '' }, `/netzwerk/${slug}/anfrage`);
      expect(bad.status).to.equal(422);
      expect(bad.text).to.match(/id="e-name" class="field-error">Bitte Ihren Namen angeben/);
      expect(bad.text).to.match(/id="e-email" class="field-error">/);
      expect(bad.text).to.contain(`${MESSAGE}</textarea>`);
      const ok = await visitor.submit(`/netzwerk/${slug}`, { name: 'Dr. Eva Forsch', email: 'eva@tu-clausthal.example', organisation: 'TU Clausthal', message: MESSAGE, homepage: '' }, `/netzwerk/${slug}/anfrage`);
      expect(ok.status).to.equal(303);
      expect(visible((await visitor.get(ok.headers.location)).text)).to.contain('Danke, Ihre Nachricht ist unterwegs.');
      const enquiries = (await delivered('bernd@harzer.example')).filter((m) => m.subject.startsWith('Cooperation enquiry'));
      expect(enquiries).to.have.length(1);
      const [mail] = enquiries; // Bernd is the named contact, in English
      expect(mail.subject).to.equal('Cooperation enquiry through the network directory: Dr. Eva Forsch');
      expect(mail.text).to.contain(MESSAGE);
      expect(mail.text).to.contain('Please reply directly to: eva@tu-clausthal.example');
      expect(mail.parsed.replyTo?.value[0].address).to.equal('eva@tu-clausthal.example'); // answering answers the visitor
      expect((await delivered('anna@harzer.example')).filter((m) => /enquiry|Anfrage/.test(m.subject))).to.have.length(0);
    });

    it('a filled-in honeypot sends nothing but looks the same; beyond the rate limit nothing is sent; the board sees counts, not contents', async () => {
      const robot = new Browser(env.app);
      const before = sink.messages.length;
      const spam = await robot.submit(`/netzwerk/${slug}`, { name: 'Bot', email: 'bot@spam.example', organisation: '', message: 'Buy now', homepage: 'http://spam.example' }, `/netzwerk/${slug}/anfrage`);
      expect(spam.status).to.equal(303);
      await env.ctx.outbox.flush();
      expect(sink.messages.length).to.equal(before);
      const visitor = new Browser(env.app);
      for (let i = 0; i < 4; i++) { // one was sent in the test before, from the same address (supertest's 127.0.0.1)
        expect((await visitor.submit(`/netzwerk/${slug}`, { name: `Person ${i}`, email: `p${i}@example.org`, organisation: '', message: `Anfrage ${i}`, homepage: '' }, `/netzwerk/${slug}/anfrage`)).status).to.equal(303);
      }
      const limited = await visitor.submit(`/netzwerk/${slug}`, { name: 'Person 5', email: 'p5@example.org', organisation: '', message: 'Anfrage 5', homepage: '' }, `/netzwerk/${slug}/anfrage`);
      expect(limited.status).to.equal(429);
      expect(limited.text).to.contain('Zu viele Anfragen in kurzer Zeit; es wurde nichts gesendet.');
      expect(limited.text).to.contain('Anfrage 5</textarea>');
      expect((await delivered('bernd@harzer.example')).filter((m) => m.subject.startsWith('Cooperation enquiry'))).to.have.length(5);
      // an hour later the sender may write again
      env.clock.set('2026-12-02T11:01:00Z');
      expect((await visitor.submit(`/netzwerk/${slug}`, { name: 'Person 6', email: 'p6@example.org', organisation: '', message: 'Anfrage 6', homepage: '' }, `/netzwerk/${slug}/anfrage`)).status).to.equal(303);
      const overview = visible((await board.get('/board/directory')).text);
      expect(overview).to.match(/Harzer Spezialchemie GmbH [^·]* Vom Vorstand freigegeben 6 \(insgesamt 6\)/);
      expect(overview).not.to.contain('Anfrage 1');
      expect(overview).not.to.contain(MESSAGE);
    });
  });

  describe('roles and settings', () => {
    it('only the board reviews; only members edit a profile; the public pages need no sign-in', async () => {
      expect((await anna.get('/board/directory')).status).to.equal(403);
      const anon = await new Browser(env.app).get('/portal/directory');
      expect(anon.status).to.be.oneOf([302, 303]);
      expect(anon.headers.location).to.match(/^\/login/);
      expect((await new Browser(env.app).get('/netzwerk')).status).to.equal(200);
      const forged = await new Browser(env.app).agent.post('/netzwerk/harzer-spezialchemie-gmbh/anfrage').type('form').send({ name: 'X', email: 'x@example.org', message: 'hi' });
      expect(forged.status).to.equal(403); // CSRF
    });

    it('the board edits the fields of activity; a bad line is named, a good list appears on the form and the filter', async () => {
      const bad = await board.submit('/board/directory', { fieldsText: 'energie | Energie | Energy\nkaputt', descriptionMax: '800' }, '/board/directory/settings');
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain('Zeile 2: erwartet „schlüssel | Deutsch | Englisch“');
      expect(bad.text).to.contain('kaputt</textarea>');
      const ok = await board.submit('/board/directory', { fieldsText: 'energie | Energie | Energy\nwasserstoff | Wasserstoff | Hydrogen\nchemie | Chemie und Grundstoffe | Chemicals', descriptionMax: '500' }, '/board/directory/settings');
      expect(ok.status).to.equal(303);
      expect(visible((await anna.get('/portal/directory')).text)).to.contain('Wasserstoff');
      expect(visible((await new Browser(env.app).get('/netzwerk?lang=en')).text)).to.contain('Hydrogen (0)');
    });
  });
});
