/** Every error leaves the API as `{ error: { code, message } }`; messages name the parameter, gateway or device at fault. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { MessageRequestError, MessageStateError } from '../dispatch/dispatcher.js';
import { ProposalNotFoundError } from '../dispatch/guidance.js';
import type { ContentProblem } from '../dispatch/content.js';
import { DuplicateRecordError, ProposalStateError, UnknownDispatchError, UnknownMessageError } from '../dispatch/types.js';

/** One thing wrong with a request's content: where (page, line, position) and for which screens. */
export type ProblemDetail = ContentProblem;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Sent as `problems` next to `error` (content that does not fit a sign). */
    readonly problems?: ProblemDetail[],
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new ApiError(404, 'NotFound', message);
export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);

const PARAMETER_KIND: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

/** JSON pointer /lanes/0/lane -> lanes[0].lane */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

/** Turns Ajv's first complaint into "query parameter 'limit' must be <= 10000". */
function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const kind = PARAMETER_KIND[error.validationContext ?? ''] ?? 'field';
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  const extra = (first.params as { additionalProperty?: string } | undefined)?.additionalProperty;
  const allowed = (first.params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
  const path = fieldPath(first.instancePath);
  if (missing !== undefined) return `${kind} '${path === '' ? missing : `${path}.${missing}`}' is required`;
  if (extra !== undefined) return `${kind} '${path === '' ? extra : `${path}.${extra}`}' is not allowed`;
  if (path === '') return `${error.validationContext ?? 'request'} ${first.message ?? 'is invalid'}`;
  if (allowed !== undefined) return `${kind} '${path}' must be one of ${allowed.join(', ')}`;
  return `${kind} '${path}' ${first.message ?? 'is invalid'}`;
}

/** The API error of a dispatch domain error, or undefined when it is not one. */
function dispatchApiError(error: unknown): ApiError | undefined {
  if (error instanceof MessageRequestError) {
    return new ApiError(400, 'BadRequest', error.message, error.problems.length > 0 ? error.problems : undefined);
  }
  if (error instanceof UnknownMessageError || error instanceof UnknownDispatchError || error instanceof ProposalNotFoundError) {
    return notFound(error.message);
  }
  if (error instanceof MessageStateError || error instanceof ProposalStateError || error instanceof DuplicateRecordError) {
    return new ApiError(409, 'Conflict', error.message);
  }
  return undefined;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | ApiError, request, reply) => {
    const error = dispatchApiError(raw) ?? raw;
    if (error instanceof ApiError) {
      return reply
        .code(error.statusCode)
        .send({ error: { code: error.code, message: error.message }, ...(error.problems && { problems: error.problems }) });
    }
    if (error.validation) {
      return reply.code(400).send({ error: { code: 'BadRequest', message: validationMessage(error) } });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({ error: { code: error.code ?? 'BadRequest', message: error.message } });
    }
    request.log.error({ err: error, method: request.method, url: request.url, operation: 'http request' }, 'request failed');
    return reply.code(500).send({ error: { code: 'InternalError', message: 'internal error; see the cloud log' } });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
  });
}
