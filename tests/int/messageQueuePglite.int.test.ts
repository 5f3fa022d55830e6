import { messageQueueContract } from '../contract/messageQueueContract.js';

// PGlite has one connection: SKIP LOCKED parses but gives no concurrency; the contract still holds.
messageQueueContract({ name: 'pglite', concurrent: false });
