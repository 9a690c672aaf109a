import { expect } from 'chai';
import { backoffMs, MAX_ATTEMPTS } from '../../server/mail/outbox.service.ts';
import { renderMail } from '../../server/mail/render.ts';

describe('outbox: backoff and rendering', () => {
  it('waits 1, 2, 4, 8 … minutes after failed attempts, at most 2 hours', () => {
    const minutes = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n) / 60_000);
    expect(minutes).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 120]);
    expect(backoffMs(MAX_ATTEMPTS)).to.equal(2 * 3_600_000);
  });

  it('keeps trying for more than a working day before giving up', () => {
    let total = 0;
    for (let n = 1; n < MAX_ATTEMPTS; n++) total += backoffMs(n);
    expect(total).to.be.greaterThan(8 * 3_600_000);
  });

  it('renders a text and an HTML part with the content escaped only in HTML', () => {
    const r = renderMail({
      subject: 'Frage zu Ihrem\r\nAntrag',
      greeting: 'Guten Tag Herr Büttner,',
      paragraphs: ['Bitte ergänzen Sie <Angaben> & Belege.'],
      quote: 'Wie viele Beschäftigte?\nBitte genau.',
      action: { label: 'Antworten', url: 'https://verein.example/a?x=1&y=2' },
      signature: 'ChemieNetzwerk Harz e.V.',
    }, 'de');
    expect(r.subject).to.equal('Frage zu Ihrem Antrag');
    expect(r.text).to.contain('Bitte ergänzen Sie <Angaben> & Belege.');
    expect(r.text).to.contain('https://verein.example/a?x=1&y=2');
    expect(r.text).to.contain('Wie viele Beschäftigte?');
    expect(r.html).to.contain('Bitte ergänzen Sie &lt;Angaben&gt; &amp; Belege.');
    expect(r.html).to.contain('lang="de"');
    expect(r.html).not.to.contain('<Angaben>');
  });
});
