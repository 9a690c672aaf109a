import type { EnqueueInput } from '../mail/outbox.service.ts';
import { tFor } from '../i18n/i18n.ts';
import type { User } from './users.service.ts';
import { greeting } from '../mail/greeting.ts';

export function passwordResetMail(baseUrl: string, associationName: string, user: User, token: string, purpose: 'reset_password' | 'set_password'): EnqueueInput {
  const t = tFor(user.locale);
  const url = purpose === 'reset_password' ? `${baseUrl}/password/reset/${token}` : `${baseUrl}/welcome/${token}`;
  return {
    template: purpose,
    locale: user.locale,
    to: user.email,
    related: { type: 'user', id: user.id },
    content: {
      subject: t(`auth.mail.${purpose}.subject`, { association: associationName }),
      greeting: greeting(t, user.displayName),
      paragraphs: [t(`auth.mail.${purpose}.intro`, { association: associationName })],
      action: { label: t(`auth.mail.${purpose}.action`), url },
      afterAction: [t(`auth.mail.${purpose}.expiry`)],
      signature: associationName,
    },
  };
}
