/** Defaults of the authentication stage, in a module that does not load mailauth (the CLI's help reads them). */

/** Default per-message deadline for the whole authentication stage, in milliseconds. */
export const DEFAULT_AUTH_DEADLINE_MS = 800;
