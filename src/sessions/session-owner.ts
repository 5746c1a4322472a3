/**
 * The user a session belongs to, as sessions see one: the id its rows
 * carry and the name its audit rows show. Sessions know no more of users;
 * the caller, which read the user, passes it.
 */
export interface SessionOwner {
  id: string;
  username: string;
}
