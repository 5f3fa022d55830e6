// A process that makes (or opens) the embedded store in argv[2] and holds it: a test kills it
// while it is making it (openPglite.int).
import { openPglite } from '../../src/infra/sql/openPglite.js';

const db = await openPglite(process.argv[2]!);
process.stdout.write('open\n');
await db.close();
