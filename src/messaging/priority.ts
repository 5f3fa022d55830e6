/**
 * The priority of a message sent without one (0-9, higher first): the API's and the CLI's default.
 * Its own module so the CLI can print it without loading the payload schemas (zod).
 */
export const DEFAULT_PRIORITY = 5;
