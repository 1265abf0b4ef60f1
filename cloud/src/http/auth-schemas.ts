/** JSON schemas (TypeBox) of sign-in, users and API tokens. */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_TOKEN_DAYS, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/accounts.js';
import { USERNAME_PATTERN } from '../auth/types.js';
import { ROLES } from './access.js';
import { Nullable } from './schemas.js';

const EpochMs = Type.Integer({ minimum: 0, description: 'epoch ms' });
const RoleSchema = Type.Union(ROLES.map((role) => Type.Literal(role)), { description: 'viewer reads; controller also writes guidance content; technician also provisions; admin everything' });
const Username = Type.String({ pattern: USERNAME_PATTERN, description: 'lower case; 2-32 of a-z 0-9 . _ -, starting with a letter' });
const DisplayName = Type.String({ minLength: 1, maxLength: 200 });
const Password = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH, description: `at least ${PASSWORD_MIN_LENGTH} characters` });

export const LoginBody = Type.Object(
  {
    // Not the username pattern: a wrong username is a failed login (401), like a wrong password.
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const Me = Type.Object({ username: Type.String(), name: Nullable(Type.String()), role: RoleSchema });

export const LoginResponse = Type.Object({
  token: Type.String({ description: "a session token (qlk_ses_...), for 'Authorization: Bearer'; shown only here" }),
  expiresAt: EpochMs,
  user: Me,
});

export const UserView = Type.Object({
  username: Type.String(),
  name: Nullable(Type.String()),
  role: RoleSchema,
  disabled: Type.Boolean(),
  createdAt: EpochMs,
  updatedAt: EpochMs,
});

export const NewUserBody = Type.Object(
  { username: Username, name: Type.Optional(DisplayName), role: RoleSchema, password: Password },
  { additionalProperties: false },
);
export type NewUserBody = Static<typeof NewUserBody>;

export const UserPatchBody = Type.Object(
  {
    name: Type.Optional(Nullable(DisplayName)),
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean({ description: 'a disabled user cannot sign in; its sessions end and its API tokens stop working' })),
    password: Type.Optional(Password),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UserPatchBody = Static<typeof UserPatchBody>;

export const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
export type UserParams = Static<typeof UserParams>;

export const TokenParams = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64 }),
  id: Type.String({ pattern: '^[0-9a-f]{16}$', description: 'the token id (the part after qlk_api_)' }),
});
export type TokenParams = Static<typeof TokenParams>;

export const NewTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'what the token is for, e.g. "dashboard wall" or "export script"' }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOKEN_DAYS, description: 'never expires when absent' })),
  },
  { additionalProperties: false },
);
export type NewTokenBody = Static<typeof NewTokenBody>;

export const TokenView = Type.Object({
  id: Type.String(),
  username: Type.String(),
  name: Nullable(Type.String()),
  createdAt: EpochMs,
  expiresAt: Nullable(EpochMs),
  lastUsedAt: Nullable(EpochMs),
  revokedAt: Nullable(EpochMs),
  active: Type.Boolean({ description: 'not revoked and not expired' }),
});

export const NewTokenResponse = Type.Object({
  token: Type.String({ description: "the API token (qlk_api_...), for 'Authorization: Bearer'; shown only here" }),
  record: TokenView,
});
