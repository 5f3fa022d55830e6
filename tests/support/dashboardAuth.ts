/**
 * The header a test's API request carries to a dashboard: its token, given or made for it (the
 * dashboard always has one: loopback is open to every account of the machine).
 *
 * @example
 * await fetch(`${dash.url}api/roots`, { headers: authorized(dash) });
 */
export const authorized = (dash: { readonly token: string }): Record<string, string> => ({ authorization: `Bearer ${dash.token}` });

/**
 * The address and token of a `cadre serve` from the line it prints
 * (`dashboard: http://127.0.0.1:4600/#token=…`).
 */
export function servedDashboard(line: string): { readonly url: string; readonly token: string } {
  const m = /dashboard: (http:\/\/\S+?\/)#token=(\S+)/.exec(line);
  if (!m) throw new Error(`no dashboard address with a token in ${JSON.stringify(line)}`);
  return { url: m[1]!, token: decodeURIComponent(m[2]!) };
}
