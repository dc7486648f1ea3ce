import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, users } from "../db/schema";
import type { AuthUser, Env } from "../env";
import { isUniqueViolation } from "../lib/d1";
import { forgetKeyHash } from "../lib/middleware";
import { ApiError, forbidden } from "../lib/errors";
import { hashPassword, randomToken, sha256Hex, verifyPassword } from "../lib/hashing";

export function serializeUser(u: { id: number; email: string; name: string; isSuperuser: boolean }) {
  return { id: u.id, email: u.email, username: u.email, name: u.name, full_name: u.name, is_superuser: u.isSuperuser };
}

/** A new random key; only its hash is stored, so this is the one time it is seen. */
export async function issueKey(db: Db, userId: number): Promise<string> {
  const key = randomToken(30);
  await db.insert(apiKeys).values({ userId, keyHash: await sha256Hex(key) });
  return key;
}

export async function signup(
  deps: { db: Db; env: Env },
  input: { email: string; password: string; name?: string },
): Promise<{ user: ReturnType<typeof serializeUser>; key: string }> {
  if (deps.env.ALLOW_SIGNUP !== "true") throw forbidden("Signup is disabled on this server.");
  const email = input.email.trim().toLowerCase();
  const existing = await deps.db.select({ id: users.id }).from(users).where(eq(users.email, email)).limit(1);
  if (existing.length) throw new ApiError("CONFLICT", "A user with that email already exists.");
  const passwordHash = await hashPassword(input.password);
  let row;
  try {
    [row] = await deps.db
      .insert(users)
      .values({ email, name: input.name?.trim() ?? "", passwordHash })
      .returning();
  } catch (e) {
    if (isUniqueViolation(e)) throw new ApiError("CONFLICT", "A user with that email already exists.");
    throw e;
  }
  return { user: serializeUser(row), key: await issueKey(deps.db, row.id) };
}

/** The user these credentials belong to; a 400 (the same for a wrong email or password) otherwise. */
export async function verifyCredentials(db: Db, input: { email: string; password: string }) {
  const email = input.email.trim().toLowerCase();
  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  // Same message whether the email or the password is wrong, as django-rest-auth answers.
  const fail = () => {
    const msg = "Unable to log in with provided credentials.";
    return new ApiError("BAD_REQUEST", msg, { extra: { non_field_errors: [msg] } });
  };
  if (!user) {
    await hashPassword(input.password); // spend the same time as a real check
    throw fail();
  }
  if (!(await verifyPassword(input.password, user.passwordHash))) throw fail();
  return user;
}

export async function login(db: Db, input: { email: string; password: string }): Promise<string> {
  const user = await verifyCredentials(db, input);
  return issueKey(db, user.id);
}

/** Revokes a key its holder presents (a browser's previous session cookie); an unknown key is a no-op. */
export async function revokeKey(db: Db, key: string): Promise<void> {
  const hash = await sha256Hex(key);
  await db.delete(apiKeys).where(eq(apiKeys.keyHash, hash));
  forgetKeyHash(hash);
}

export async function logout(db: Db, user: AuthUser): Promise<void> {
  const [row] = await db
    .delete(apiKeys)
    .where(and(eq(apiKeys.id, user.keyId), eq(apiKeys.userId, user.id)))
    .returning({ keyHash: apiKeys.keyHash });
  if (row) forgetKeyHash(row.keyHash);
}
