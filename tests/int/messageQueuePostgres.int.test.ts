import { messageQueueContract } from '../contract/messageQueueContract.js';

messageQueueContract({ name: 'postgres', concurrent: true });
messageQueueContract({ name: 'postgres', concurrent: true, projected: true });
