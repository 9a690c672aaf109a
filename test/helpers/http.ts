import request from 'supertest';
import type { Express } from 'express';

/** A supertest agent that keeps cookies, with helpers to read CSRF tokens and post forms. */
export class Browser {
  agent: ReturnType<typeof request.agent>;
  constructor(app: Express) {
    this.agent = request.agent(app);
  }

  static csrfFrom(html: string): string {
    const m = html.match(/name="_csrf" value="([^"]+)"/);
    if (!m) throw new Error('no CSRF token in page');
    return m[1];
  }

  async get(url: string) {
    return this.agent.get(url);
  }

  /** Loads `formUrl`, takes its CSRF token and posts `data` as a form to `action` (default: the same URL). */
  async submit(formUrl: string, data: Record<string, unknown>, action?: string) {
    const page = await this.agent.get(formUrl);
    const token = Browser.csrfFrom(page.text);
    return this.agent.post(action ?? formUrl).type('form').send({ ...data, _csrf: token });
  }

  async login(email: string, password: string) {
    const res = await this.submit('/login', { email, password });
    if (res.status !== 303) throw new Error(`login failed for ${email}: ${res.status}`);
    return res;
  }
}
