import { messageQueueContract } from '../contract/messageQueueContract.js';

messageQueueContract({ name: 'postgres', concurrent: true });
