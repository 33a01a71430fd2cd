// Who is signed in. The session itself is the HttpOnly cookie `sess.sid`;
// the app only learns the user from GET /users/me (401 = signed out).

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, getMe, signOut as apiSignOut } from './api';
import type { User } from './types';

export interface Session {
  /** undefined while the first GET /users/me is in flight, null when signed out. */
  user: User | null | undefined;
  setUser: (user: User | null) => void;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);

  useEffect(() => {
    let live = true;
    getMe().then(
      (u) => live && setUser(u),
      (err: unknown) => {
        if (!live) return;
        // 401 is the normal "signed out"; any other failure also leaves the
        // visitor signed out as far as the page can tell.
        if (!(err instanceof ApiError && err.status === 401)) console.warn('GET /users/me failed:', err);
        setUser(null);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const signOut = useCallback(async () => {
    try {
      await apiSignOut();
    } catch (err) {
      // Already signed out on the server: the page should agree.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    }
    setUser(null);
  }, []);

  const value = useMemo(() => ({ user, setUser, signOut }), [user, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession must be used inside <SessionProvider>');
  return s;
}
