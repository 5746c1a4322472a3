import { ConflictException } from '@nestjs/common';

/** What the loser of two writes of one name at once hears (see isUniqueViolation). */
export function usernameTaken(): ConflictException {
  return new ConflictException('This username is already taken.');
}
