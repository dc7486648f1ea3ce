import { z } from "@hono/zod-openapi";

/** `session=cookie` asks for a browser session: an HttpOnly cookie instead of a key in the body. */
const Session = z
  .enum(["cookie"])
  .optional()
  .openapi({
    description:
      "`cookie`: start a browser session. The key is set as an HttpOnly, Secure, SameSite=Lax cookie and left out of " +
      "the body; the request must come from this server's own origin. Omit it for an API key in the body.",
  });

export const LoginBody = z
  .object({
    email: z.string().trim().min(1, "This field is required.").max(254),
    password: z.string().min(1, "This field is required.").max(1024),
    session: Session,
  })
  .openapi("LoginBody");

export const SignupBody = z
  .object({
    email: z.email("Enter a valid email address.").max(254),
    password: z.string().min(8, "Use at least 8 characters.").max(1024),
    name: z.string().max(200).optional(),
    session: Session,
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
