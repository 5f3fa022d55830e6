import type { ModelProvider, ModelReply } from '../../actors/ports/modelProvider.js';
import { ModelError } from '../../errors.js';
import { formatPath } from '../../validation.js';
import { ModelReplySchema } from './modelReplySchema.js';
import { wrapComplete } from './wrapComplete.js';

/**
 * A provider whose replies are parsed before they are charged or acted on: usage that is not a
 * whole non-negative number (a proxy or a fake Messages API that sends -1000000, "12" or
 * nothing; a custom provider's bug) would hand tokens out of budgets and store events no reader
 * can open again; two tool calls with one id would leave one unanswered. Such a reply fails the
 * call with a ModelError naming the field, not retried: the same server would send the same.
 * The call was answered, so it is charged its reservation (`answered`), not given free.
 *
 * @example
 * const model = checkingModel(createModelProvider(config));
 */
export function checkingModel(model: ModelProvider): ModelProvider {
  return wrapComplete(model, async (request, options) => checkedReply(await model.complete(request, options)));
}

function checkedReply(reply: ModelReply): ModelReply {
  const parsed = ModelReplySchema.safeParse(reply);
  if (parsed.success) return reply;
  const issue = parsed.error.issues[0]!;
  throw new ModelError(`the model API sent an invalid reply: ${formatPath('reply', issue.path)}: ${issue.message}`, { answered: true });
}
