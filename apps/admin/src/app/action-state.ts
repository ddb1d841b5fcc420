// What the server actions answer to their forms (kept apart: a 'use server' file exports only
// async functions).

export interface SignInState {
  readonly error?: string;
  readonly username?: string;
}

export interface ActionState {
  readonly ok?: boolean;
  readonly message?: string;
}
