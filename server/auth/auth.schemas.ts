import { z } from 'zod';
import { MIN_PASSWORD_LENGTH } from './passwords.ts';

export const loginSchema = z.object({
  email: z.string().trim().min(1, 'common.validation.required').max(254, 'common.validation.email'),
  password: z.string().min(1, 'common.validation.required').max(1000, 'common.validation.invalid'),
});

export const forgotSchema = z.object({
  email: z.email('common.validation.email').max(254, 'common.validation.email'),
});

export const newPasswordSchema = z
  .object({
    password: z.string().min(MIN_PASSWORD_LENGTH, 'common.validation.passwordLength').max(1000, 'common.validation.invalid'),
    confirm: z.string().max(1000),
  })
  .refine((v) => v.password === v.confirm, { path: ['confirm'], message: 'common.validation.passwordMatch' });
