import { ApiProperty } from '@nestjs/swagger';
import type {
  AuditDetails,
  AuditEvent,
  AuditEventType,
} from '../audit-event.entity.js';
import { AUDIT_EVENT_TYPES } from '../audit-event.entity.js';

/** One entry of the audit log. */
export class AuditEventDto {
  /** @example "0b8f3d5e-6a0c-4a4f-8f2e-1d7c9b3a2e10" */
  id!: string;
  occurredAt!: Date;
  @ApiProperty({ enum: AUDIT_EVENT_TYPES })
  type!: AuditEventType;
  /**
   * The account the event is about; kept after the account is deleted.
   * @example "7f0c1f7e-3b5a-4d0e-9a55-2f6f4c1d9b0e"
   */
  userId!: string | null;
  /**
   * The username at the time; for a failed login, the name attempted.
   * @example "alice"
   */
  username!: string | null;
  /** The user or client whose access token made the change, when it was not the token endpoint. */
  actorId!: string | null;
  /**
   * The OAuth client the request came through.
   * @example "public"
   */
  clientId!: string | null;
  /** @example "203.0.113.7" */
  ipAddress!: string | null;
  /** @example "Mozilla/5.0 (X11; Linux x86_64)" */
  userAgent!: string | null;
  /** Non-secret facts, such as a session id or a reason. */
  @ApiProperty({
    type: 'object',
    additionalProperties: {
      oneOf: [
        { type: 'string' },
        { type: 'number' },
        { type: 'boolean' },
        { type: 'array', items: { type: 'string' } },
      ],
    },
    nullable: true,
    example: { sessionId: '3c1e2a4b-5d6f-4a7b-8c9d-0e1f2a3b4c5d' },
  })
  details!: AuditDetails | null;

  static from(event: AuditEvent): AuditEventDto {
    const dto = new AuditEventDto();
    dto.id = event.id;
    dto.occurredAt = event.occurredAt;
    dto.type = event.type;
    dto.userId = event.userId;
    dto.username = event.username;
    dto.actorId = event.actorId;
    dto.clientId = event.clientId;
    dto.ipAddress = event.ipAddress;
    dto.userAgent = event.userAgent;
    dto.details = event.details;
    return dto;
  }
}

export class AuditEventPageDto {
  items!: AuditEventDto[];
  /** Events matching the filter, across all pages. */
  total!: number;
  page!: number;
  limit!: number;
}
