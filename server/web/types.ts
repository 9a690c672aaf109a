import type { Locale } from '../i18n/i18n.ts';
import type { User } from '../auth/users.service.ts';

declare module 'express-session' {
  interface SessionData {
    locale?: Locale;
    flash?: { kind: 'success' | 'error' | 'info'; text: string }[];
    returnTo?: string;
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // passport's user is our User
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends UserShape {}
    interface Request {
      id: string;
      locale: Locale;
      t: import('i18next').TFunction;
    }
  }
}
type UserShape = User;
export {};
