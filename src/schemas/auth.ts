import { z } from "@hono/zod-openapi";

export const LoginBody = z
  .object({
    email: z.string().trim().min(1, "This field is required.").max(254),
    password: z.string().min(1, "This field is required.").max(1024),
  })
  .openapi("LoginBody");

export const SignupBody = z
  .object({
    email: z.email("Enter a valid email address.").max(254),
    password: z.string().min(8, "Use at least 8 characters.").max(1024),
    name: z.string().max(200).optional(),
  })
  .openapi("SignupBody");

export const KeyResponse = z.object({ key: z.string() }).openapi("Key");

export const User = z
  .object({
    id: z.number().int(),
    email: z.string(),
    username: z.string(),
    name: z.string(),
    full_name: z.string(),
    is_superuser: z.boolean(),
  })
  .openapi("User");

export const SignupResponse = User.extend({ key: z.string() }).openapi("SignupResult");
