// The parts of a multipart/form-data request, with the parser's own failures (no boundary, an empty
// boundary, a malformed part header, a body cut short) turned into a 400 that says what to fix.
// Limit errors (FST_*) keep their codes: the error handler maps them to 413 or 400 already.
import type { FastifyRequest } from 'fastify'
import type { Multipart } from '@fastify/multipart'
import { GatewayError } from './gatewayError.ts'
import { errorCodeOf, errorMessageOf } from '../../errors/index.ts'

export async function* multipartParts(request: FastifyRequest): AsyncGenerator<Multipart> {
  const parts = request.parts()[Symbol.asyncIterator]()
  for (;;) {
    let next: IteratorResult<Multipart>
    try {
      next = await parts.next()
    } catch (error) {
      if (errorCodeOf(error) !== undefined || error instanceof GatewayError) throw error
      throw new GatewayError('SUBMISSION_INVALID', 'The multipart body is malformed.', {
        details: `${errorMessageOf(error).slice(0, 200)}. Send multipart/form-data with a non-empty boundary parameter in Content-Type (curl -F does this).`,
      })
    }
    if (next.done) return
    yield next.value
  }
}
