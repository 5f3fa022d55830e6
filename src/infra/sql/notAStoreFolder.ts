/** A folder that holds files and no store: cadre makes no store among someone's files (openPglite.ts). */
export class NotAStoreFolder extends Error {
  constructor(
    readonly folder: string,
    readonly entries: readonly string[],
  ) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, and ${entries.length - 3} more` : '');
    super(`it holds files and no cadre store (${shown}); name an empty or new folder, or move them out`);
    this.name = 'NotAStoreFolder';
  }
}
