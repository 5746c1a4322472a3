/**
 * How deep a request body may nest. DTOs here are one or two levels deep;
 * class-transformer recurses once per level, so a body nested thousands
 * deep would overflow the stack and answer a 500.
 */
export const MAX_BODY_DEPTH = 32;

/** Whether a parsed body nests deeper than `max`, measured without recursion. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) {
      pending.push({ value: child, depth: depth + 1 });
    }
  }
  return false;
}
